import Crypto

/// Checks the signature headers of an HTTP request against a keyring.
///
/// Replays are not this type's business: the broker remembers accepted signatures in Redis,
/// shared by every broker instance, using `VerifiedHTTPRequest.replayToken`.
public struct HTTPRequestVerifier: Sendable {
    public let keyring: Keyring
    /// How far a timestamp may be from the verifier's clock, either way.
    public let windowSeconds: Int64

    public init(keyring: Keyring, windowSeconds: Int64 = 300) {
        self.keyring = keyring
        self.windowSeconds = windowSeconds
    }

    /// Verifies one request; the header values are nil when absent.
    public func verify(
        method: String,
        target: String,
        keyID: String?,
        timestamp: String?,
        nonce: String?,
        signature: String?,
        body: some Collection<UInt8>,
        now: Int64 = UnixTime.now()
    ) throws(HTTPSignatureError) -> VerifiedHTTPRequest {
        guard let keyID, let timestamp, let nonce, let signature else {
            let missing = [
                (HTTPSignatureHeader.keyID, keyID), (HTTPSignatureHeader.timestamp, timestamp),
                (HTTPSignatureHeader.nonce, nonce), (HTTPSignatureHeader.signature, signature),
            ].filter { $0.1 == nil }.map(\.0)
            throw .missingSignature(headers: missing)
        }
        guard Tokens.isToken(nonce, length: 16...64) else {
            throw .malformed("\(HTTPSignatureHeader.nonce) must be 16–64 characters from A–Z a–z 0–9 . _ ~ -")
        }
        guard let seconds = Int64(timestamp), seconds > 0 else {
            throw .malformed("\(HTTPSignatureHeader.timestamp) must be Unix seconds, got \"\(timestamp)\"")
        }
        guard signature.hasPrefix("v1="), let mac = Hex.decode(signature.dropFirst(3)), mac.count == 32 else {
            throw .malformed("\(HTTPSignatureHeader.signature) must be v1= followed by 64 hex digits")
        }
        guard let key = keyring.key(id: keyID) else { throw .unknownKeyID(keyID) }
        if seconds < now - windowSeconds {
            throw .expired(timestamp: seconds, now: now, windowSeconds: windowSeconds)
        }
        if seconds > now + windowSeconds {
            throw .inFuture(timestamp: seconds, now: now, windowSeconds: windowSeconds)
        }
        let input = HTTPSigningInput.bytes(
            method: method,
            target: target,
            timestamp: seconds,
            nonce: nonce,
            body: body
        )
        // Constant-time comparison: swift-crypto's isValidAuthenticationCode.
        guard HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: input, using: key.secret) else {
            throw .badSignature
        }
        return VerifiedHTTPRequest(
            keyID: keyID,
            caller: keyring.caller(ofKeyID: keyID),
            timestamp: seconds,
            replayToken: Hex.encode(mac)
        )
    }
}

/// A request whose signature held.
public struct VerifiedHTTPRequest: Sendable, Hashable {
    public let keyID: String
    /// Who signed: the key's `caller`, or the key id.
    public let caller: String
    public let timestamp: Int64
    /// Unique per signed request; seen twice within the window means a replay.
    public let replayToken: String
}

/// Why an HTTP request's signature was refused; `code` is the API's stable error code.
public enum HTTPSignatureError: Error, Hashable, Sendable, CustomStringConvertible {
    case missingSignature(headers: [String])
    case malformed(String)
    case unknownKeyID(String)
    case badSignature
    case expired(timestamp: Int64, now: Int64, windowSeconds: Int64)
    case inFuture(timestamp: Int64, now: Int64, windowSeconds: Int64)
    case replayed

    public var code: String {
        switch self {
        case .missingSignature: "missing_signature"
        case .malformed: "malformed_signature"
        case .unknownKeyID: "unknown_key_id"
        case .badSignature: "bad_signature"
        case .expired: "signature_expired"
        case .inFuture: "signature_in_future"
        case .replayed: "signature_replayed"
        }
    }

    public var description: String {
        switch self {
        case .missingSignature(let headers):
            "request is not signed: missing \(headers.joined(separator: ", "))"
        case .malformed(let why): "signature headers are malformed: \(why)"
        case .unknownKeyID(let id): "key id \"\(id)\" is not in the broker's keyring"
        case .badSignature:
            "signature does not match: wrong key, or the method, path, timestamp or body changed on the way"
        case .expired(let ts, let now, let window):
            "timestamp \(ts) is \(now - ts) s old; at most \(window) s are accepted (check the caller's clock)"
        case .inFuture(let ts, let now, let window):
            "timestamp \(ts) is \(ts - now) s in the future; at most \(window) s are accepted (check the caller's clock)"
        case .replayed: "this exact signed request was already received; sign each request afresh"
        }
    }
}
