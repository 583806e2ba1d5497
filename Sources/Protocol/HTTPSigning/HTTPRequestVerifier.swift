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

/// Why an HTTP request's signature was refused. ``code`` is the API's stable error code
/// (`bad_signature`); compare it with the static members of ``Code``. A struct, not an enum, so
/// that a new code is not a breaking change (the shape of swift-nio's `FileSystemError`).
public struct HTTPSignatureError: Error, Hashable, Sendable, CustomStringConvertible {
    public typealias Code = ErrorCode<HTTPSignatureError>

    /// What went wrong, for code to compare.
    public let code: Code
    /// What went wrong and what to do, for a person.
    public let message: String

    public var description: String { message }

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public static func missingSignature(headers: [String]) -> Self {
        Self(.missingSignature, "request is not signed: missing \(headers.joined(separator: ", "))")
    }

    public static func malformed(_ why: String) -> Self {
        Self(.malformed, "signature headers are malformed: \(why)")
    }

    public static func unknownKeyID(_ id: String) -> Self {
        Self(.unknownKeyID, "key id \"\(id)\" is not in the broker's keyring")
    }

    public static var badSignature: Self {
        Self(
            .badSignature,
            "signature does not match: wrong key, or the method, path, timestamp or body changed on the way"
        )
    }

    public static func expired(timestamp: Int64, now: Int64, windowSeconds: Int64) -> Self {
        Self(
            .expired,
            "timestamp \(timestamp) is \(now - timestamp) s old; at most \(windowSeconds) s are accepted (check the caller's clock)"
        )
    }

    public static func inFuture(timestamp: Int64, now: Int64, windowSeconds: Int64) -> Self {
        Self(
            .inFuture,
            "timestamp \(timestamp) is \(timestamp - now) s in the future; at most \(windowSeconds) s are accepted (check the caller's clock)"
        )
    }

    public static var replayed: Self {
        Self(.replayed, "this exact signed request was already received; sign each request afresh")
    }
}

extension ErrorCode where Domain == HTTPSignatureError {
    /// A signature header is absent.
    public static var missingSignature: Self { Self("missing_signature") }
    /// A signature header breaks its documented form.
    public static var malformed: Self { Self("malformed_signature") }
    /// The key id is not in the broker's keyring.
    public static var unknownKeyID: Self { Self("unknown_key_id") }
    /// The MAC does not match.
    public static var badSignature: Self { Self("bad_signature") }
    /// The timestamp is older than the window allows.
    public static var expired: Self { Self("signature_expired") }
    /// The timestamp is further ahead than the window allows.
    public static var inFuture: Self { Self("signature_in_future") }
    /// This exact signed request was seen before.
    public static var replayed: Self { Self("signature_replayed") }
}
