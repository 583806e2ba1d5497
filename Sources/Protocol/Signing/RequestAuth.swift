/// The auth section of a signed frame: which key signed, when, with which nonce, and the MAC.
///
/// On the wire it is a JSON object, `{"kid":"k1","ts":1767225600,"nonce":"…","sig":"<64 hex>"}`,
/// placed between the frame header and the body.
public struct RequestAuth: Hashable, Sendable, Codable {
    /// The signing key's id.
    public var kid: String
    /// Seconds since the Unix epoch, UTC, when the message was signed.
    public var ts: Int64
    /// 16–128 token characters, unique per message within the verifier's window.
    public var nonce: String
    /// HMAC-SHA256 of the signing input, 64 lower-case hex digits.
    public var sig: String

    public init(kid: String, ts: Int64, nonce: String, sig: String) {
        self.kid = kid
        self.ts = ts
        self.nonce = nonce
        self.sig = sig
    }

    /// The section's bytes as placed in a frame.
    public func encoded() -> [UInt8] {
        // Written by hand: it sits on every request's path, and for token-only strings (which
        // `kid`, `nonce` and `sig` are when produced by `RequestSigner`) this is exactly what a
        // JSON encoder would write. Anything else goes through the encoder for correct escaping.
        guard [kid, nonce, sig].allSatisfy({ Tokens.isToken($0, length: 0...128) }) else {
            return try! JSONCoding.encode(self)
        }
        return Array(#"{"kid":"\#(kid)","ts":\#(ts),"nonce":"\#(nonce)","sig":"\#(sig)"}"#.utf8)
    }
}
