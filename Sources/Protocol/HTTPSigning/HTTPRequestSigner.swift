import Crypto

/// Signs HTTP requests for the broker's API with the active key of a keyring.
public struct HTTPRequestSigner: Sendable {
    public let key: SigningKey

    public init(key: SigningKey) {
        self.key = key
    }

    /// 128 random bits as 32 hex digits.
    public static func makeNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return Hex.encode((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// The three signature headers, as (name, value) pairs, for one request.
    public func headers(
        method: String,
        target: String,
        body: some Collection<UInt8>,
        timestamp: Int64 = UnixTime.now(),
        nonce: String = HTTPRequestSigner.makeNonce()
    ) -> [(name: String, value: String)] {
        let input = HTTPSigningInput.bytes(
            method: method,
            target: target,
            timestamp: timestamp,
            nonce: nonce,
            body: body
        )
        let mac = HMAC<SHA256>.authenticationCode(for: input, using: key.secret)
        return [
            (HTTPSignatureHeader.keyID, key.id),
            (HTTPSignatureHeader.timestamp, String(timestamp)),
            (HTTPSignatureHeader.nonce, nonce),
            (HTTPSignatureHeader.signature, "v1=" + Hex.encode(mac)),
        ]
    }
}
