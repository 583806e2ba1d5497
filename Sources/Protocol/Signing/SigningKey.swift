import Crypto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A shared secret for HMAC-SHA256 signing, with the id that names it in the auth section.
public struct SigningKey: Sendable {
    /// Minimum secret length: 32 bytes, the size of the HMAC-SHA256 output.
    public static let minimumSecretLength = 32

    public let id: String
    let secret: SymmetricKey

    /// - Throws: `KeyringError` when the id is not a 1–64 character token or the secret is
    ///   shorter than 32 bytes.
    public init(id: String, secret: some Collection<UInt8>) throws(KeyringError) {
        guard Tokens.isToken(id, length: 1...64) else { throw .invalidKeyID(id) }
        guard secret.count >= Self.minimumSecretLength else {
            throw .secretTooShort(keyID: id, length: secret.count)
        }
        self.id = id
        self.secret = SymmetricKey(data: Array(secret))
    }
}

/// Why a keyring could not be built or loaded. Compare ``code`` with the static members of
/// ``Code``; a struct, not an enum, so that a new code is not a breaking change.
public struct KeyringError: Error, Hashable, Sendable, CustomStringConvertible {
    public typealias Code = ErrorCode<KeyringError>

    /// What went wrong, for code to compare.
    public let code: Code
    /// What went wrong, naming the key, for a person.
    public let message: String

    public var description: String { message }

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public static func invalidKeyID(_ id: String) -> Self {
        Self(.invalidKeyID, "key id \"\(id)\" must be 1–64 characters from A–Z a–z 0–9 . _ ~ -")
    }

    public static func secretTooShort(keyID: String, length: Int) -> Self {
        Self(
            .secretTooShort,
            "key \"\(keyID)\" has a \(length)-byte secret; at least \(SigningKey.minimumSecretLength) bytes are required"
        )
    }

    public static func invalidSecretEncoding(keyID: String) -> Self {
        Self(.invalidSecretEncoding, "key \"\(keyID)\": secret is not valid base64")
    }

    public static func duplicateKeyID(_ id: String) -> Self {
        Self(.duplicateKeyID, "key id \"\(id)\" appears twice in the keyring")
    }

    public static var empty: Self { Self(.empty, "the keyring holds no keys") }

    public static func unknownActiveKey(_ id: String) -> Self {
        Self(.unknownActiveKey, "active key \"\(id)\" is not in the keyring")
    }

    public static func unreadable(_ reason: String) -> Self {
        Self(.unreadable, "keyring is not valid JSON of the documented shape: \(reason)")
    }
}

extension ErrorCode where Domain == KeyringError {
    /// A key id breaks the id rule.
    public static var invalidKeyID: Self { Self("invalid_key_id") }
    /// A secret is shorter than ``SigningKey/minimumSecretLength``.
    public static var secretTooShort: Self { Self("secret_too_short") }
    /// A secret is not base64.
    public static var invalidSecretEncoding: Self { Self("invalid_secret_encoding") }
    /// Two keys share an id.
    public static var duplicateKeyID: Self { Self("duplicate_key_id") }
    /// The keyring holds no keys.
    public static var empty: Self { Self("empty_keyring") }
    /// The active key is not among the keys.
    public static var unknownActiveKey: Self { Self("unknown_active_key") }
    /// The file is not the documented JSON shape.
    public static var unreadable: Self { Self("unreadable_keyring") }
}
