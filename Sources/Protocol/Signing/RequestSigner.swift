import Crypto

/// Signs client messages (requests and notifications) for one agent with the keyring's active key.
public struct RequestSigner: Sendable {
    /// Identity of the agent the messages are addressed to; part of the signing input, so a
    /// message signed for one agent is refused by every other.
    public let agentID: String
    public let key: SigningKey

    public init(agentID: String, key: SigningKey) {
        precondition(Tokens.isToken(agentID, length: 1...128), "agent id must be a 1–128 character token")
        self.agentID = agentID
        self.key = key
    }

    public init(agentID: String, keyring: Keyring) {
        self.init(agentID: agentID, key: keyring.activeKey)
    }

    /// The auth section for `body`.
    ///
    /// - Parameters:
    ///   - timestamp: seconds since the epoch; defaults to now.
    ///   - nonce: defaults to 128 random bits as 32 hex digits.
    public func auth(
        body: [UInt8],
        method: String,
        id: RequestID?,
        timestamp: Int64 = UnixTime.now(),
        nonce: String = RequestSigner.randomNonce()
    ) -> RequestAuth {
        precondition(Tokens.isMethodName(method), "method name \"\(method)\" is not signable")
        precondition(id.map(Tokens.isSignableID) ?? true, "request id is not signable")
        let input = SigningInput.bytes(
            agentID: agentID,
            keyID: key.id,
            timestamp: timestamp,
            nonce: nonce,
            method: method,
            id: id,
            body: body
        )
        let mac = HMAC<SHA256>.authenticationCode(for: input, using: key.secret)
        return RequestAuth(kid: key.id, ts: timestamp, nonce: nonce, sig: Hex.encode(mac))
    }

    /// Whether a message with this method and id can be signed at all (`auth` traps otherwise):
    /// the method a name of the protocol's alphabet, the id a string or number of bounded size.
    public static func canSign(method: String, id: RequestID?) -> Bool {
        Tokens.isMethodName(method) && (id.map(Tokens.isSignableID) ?? true)
    }

    /// A signed frame for `body`.
    public func frame(body: [UInt8], method: String, id: RequestID?) -> Frame {
        Frame(auth: auth(body: body, method: method, id: id).encoded(), body: body)
    }

    /// 128 random bits as 32 lower-case hex digits.
    public static func randomNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<2).flatMap { _ in withUnsafeBytes(of: generator.next() as UInt64) { Array($0) } }
        return Hex.encode(bytes)
    }
}
