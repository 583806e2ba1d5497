import Crypto

/// Checks signed client messages on the agent's side: key, MAC, clock window and nonce.
///
/// The checks run in a fixed order (documented in `spec/protocol.md`) so that every failure has
/// one well-defined error: auth shape → key id → MAC (constant time) → timestamp → nonce.
/// A nonce is recorded only once everything else has passed, so forged messages cannot fill
/// the replay cache.
public struct RequestVerifier: Sendable {
    /// Default clock window: ±60 seconds.
    public static let defaultWindowSeconds: Int64 = 60
    /// Default replay cache capacity; at 20,000 messages a second this covers the ±60 s window.
    public static let defaultReplayCapacity = 2_500_000

    public let agentID: String
    public let keyring: Keyring
    public let windowSeconds: Int64
    private let nonces: NonceCache

    public init(
        agentID: String,
        keyring: Keyring,
        windowSeconds: Int64 = RequestVerifier.defaultWindowSeconds,
        replayCapacity: Int = RequestVerifier.defaultReplayCapacity
    ) {
        self.agentID = agentID
        self.keyring = keyring
        self.windowSeconds = windowSeconds
        self.nonces = NonceCache(capacity: replayCapacity)
    }

    /// Verifies a frame whose body was classified as `message`.
    public func verify(
        frame: Frame,
        message: IncomingMessage,
        now: Int64 = UnixTime.now()
    ) throws(VerificationError) {
        guard let method = message.method else {
            throw .malformedAuth("only requests and notifications are signed")
        }
        try verify(auth: frame.auth, body: frame.body, method: method, id: message.id, now: now)
    }

    /// Verifies the auth section `auth` for the given body bytes, method and id.
    public func verify(
        auth authBytes: [UInt8],
        body: [UInt8],
        method: String,
        id: RequestID?,
        now: Int64 = UnixTime.now()
    ) throws(VerificationError) {
        guard !authBytes.isEmpty else { throw .missingSignature }
        let auth: RequestAuth
        do {
            auth = try JSONCoding.decode(RequestAuth.self, from: authBytes)
        } catch {
            throw .malformedAuth(IncomingMessage.describe(error))
        }
        guard Tokens.isToken(auth.kid, length: 1...64) else {
            throw .malformedAuth("kid must be a 1–64 character token")
        }
        guard Tokens.isToken(auth.nonce, length: 16...128) else {
            throw .malformedAuth("nonce must be a 16–128 character token")
        }
        guard auth.sig.utf8.count == 64, let mac = Hex.decode(auth.sig) else {
            throw .malformedAuth("sig must be 64 hex digits")
        }
        guard Tokens.isMethodName(method), id.map(Tokens.isSignableID) ?? true else {
            throw .malformedAuth("method or id cannot be signed")
        }
        guard let key = keyring.key(id: auth.kid) else { throw .unknownKeyID(auth.kid) }

        let input = SigningInput.bytes(
            agentID: agentID,
            keyID: auth.kid,
            timestamp: auth.ts,
            nonce: auth.nonce,
            method: method,
            id: id,
            body: body
        )
        // Constant-time comparison, done by swift-crypto.
        guard HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: input, using: key.secret) else {
            throw .badSignature
        }
        if auth.ts < now - windowSeconds {
            throw .expired(timestamp: auth.ts, now: now, windowSeconds: windowSeconds)
        }
        if auth.ts > now + windowSeconds {
            throw .inFuture(timestamp: auth.ts, now: now, windowSeconds: windowSeconds)
        }
        try nonces.insert(auth.nonce, expiry: auth.ts + windowSeconds, now: now)
    }
}
