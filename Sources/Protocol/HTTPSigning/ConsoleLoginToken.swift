import Crypto

/// The one-time, short-lived sign-in link of the broker's console (`rollbackctl console`):
/// `<key id>.<expires, Unix seconds>.<nonce>.<hex HMAC-SHA256>`, the MAC with the operator's
/// key over `rollback-console-login-v1\n<key id>\n<expires>\n<nonce>`. The broker exchanges it,
/// once, for a session cookie; the key's secret never reaches the browser.
public enum ConsoleLoginToken {
    /// The longest a link may live, whatever its maker asked for.
    public static let maxLifetimeSeconds: Int64 = 600

    /// A token for `key`, valid until `expires`.
    public static func make(
        key: SigningKey,
        expires: Int64,
        nonce: String = HTTPRequestSigner.makeNonce()
    ) -> String {
        let mac = HMAC<SHA256>.authenticationCode(
            for: input(keyID: key.id, expires: expires, nonce: nonce),
            using: key.secret
        )
        return "\(key.id).\(expires).\(nonce).\(Hex.encode(mac))"
    }

    /// What a token that holds says.
    public struct Verified: Sendable, Equatable {
        public let keyID: String
        public let expires: Int64
        /// Unique per token: remembered until `expires` so that a link works once.
        public let nonce: String
    }

    /// Why a token was refused.
    public enum Refusal: String, Error, Sendable {
        case malformed = "login_link_malformed"
        case unknownKey = "unknown_key_id"
        case expired = "login_link_expired"
        case badSignature = "bad_signature"
    }

    public static func verify(
        _ token: String,
        keyring: Keyring,
        now: Int64 = UnixTime.now()
    ) throws(Refusal) -> Verified {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4, let expires = Int64(parts[1]), Tokens.isToken(parts[2], length: 16...64),
            let mac = Hex.decode(parts[3]), mac.count == 32
        else { throw .malformed }
        guard let key = keyring.key(id: parts[0]) else { throw .unknownKey }
        guard expires >= now, expires <= now + maxLifetimeSeconds else { throw .expired }
        guard
            HMAC<SHA256>.isValidAuthenticationCode(
                mac,
                authenticating: input(keyID: key.id, expires: expires, nonce: parts[2]),
                using: key.secret
            )
        else { throw .badSignature }
        return Verified(keyID: key.id, expires: expires, nonce: parts[2])
    }

    private static func input(keyID: String, expires: Int64, nonce: String) -> [UInt8] {
        Array("rollback-console-login-v1\n\(keyID)\n\(expires)\n\(nonce)".utf8)
    }
}
