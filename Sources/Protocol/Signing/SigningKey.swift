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

/// Why a keyring could not be built or loaded.
public enum KeyringError: Error, Hashable, Sendable, CustomStringConvertible {
    case invalidKeyID(String)
    case secretTooShort(keyID: String, length: Int)
    case invalidSecretEncoding(keyID: String)
    case duplicateKeyID(String)
    case empty
    case unknownActiveKey(String)
    case unreadable(String)

    public var description: String {
        switch self {
        case .invalidKeyID(let id):
            "key id \"\(id)\" must be 1–64 characters from A–Z a–z 0–9 . _ ~ -"
        case .secretTooShort(let id, let length):
            "key \"\(id)\" has a \(length)-byte secret; at least \(SigningKey.minimumSecretLength) bytes are required"
        case .invalidSecretEncoding(let id):
            "key \"\(id)\": secret is not valid base64"
        case .duplicateKeyID(let id):
            "key id \"\(id)\" appears twice in the keyring"
        case .empty:
            "the keyring holds no keys"
        case .unknownActiveKey(let id):
            "active key \"\(id)\" is not in the keyring"
        case .unreadable(let reason):
            "keyring is not valid JSON of the documented shape: \(reason)"
        }
    }
}
