/// Why a signed message was refused. ``rpcError`` is the answer sent to the peer, with the
/// code's ``Code/name`` as `details.reason`. Compare ``code`` with the static members of ``Code``;
/// a struct, not an enum, so that a new code is not a breaking change.
public struct VerificationError: Error, Hashable, Sendable, CustomStringConvertible {
    public typealias Code = ErrorCode<VerificationError>

    /// What went wrong, for code to compare.
    public let code: Code
    /// The error response sent to the peer.
    public let rpcError: RPCError

    /// The stable machine-readable name of ``code``, sent as `details.reason`.
    public var name: String { code.name }
    public var description: String { rpcError.message }

    private init(
        _ code: Code,
        _ rpcCode: RPCErrorCode,
        _ message: String,
        details: [String: String] = [:]
    ) {
        self.code = code
        self.rpcError = RPCError(rpcCode, message, details: details.merging(["reason": code.name]) { $1 })
    }

    public static var missingSignature: Self {
        Self(
            .missingSignature,
            .unauthenticated,
            "message is not signed; every client message needs an auth section"
        )
    }

    public static func malformedAuth(_ why: String) -> Self {
        Self(.malformedAuth, .unauthenticated, "auth section is malformed: \(why)")
    }

    public static func unknownKeyID(_ kid: String) -> Self {
        Self(
            .unknownKeyID,
            .unauthenticated,
            "key id \"\(kid)\" is not in this agent's keyring",
            details: ["kid": kid]
        )
    }

    public static var badSignature: Self {
        Self(
            .badSignature,
            .unauthenticated,
            "signature does not match (wrong key, wrong agent id, or the message was altered)"
        )
    }

    public static func expired(timestamp: Int64, now: Int64, windowSeconds: Int64) -> Self {
        Self(
            .expired,
            .expired,
            "timestamp \(timestamp) is \(now - timestamp) s old; the window is ±\(windowSeconds) s (check the clocks)",
            details: ["ts": String(timestamp), "now": String(now)]
        )
    }

    public static func inFuture(timestamp: Int64, now: Int64, windowSeconds: Int64) -> Self {
        Self(
            .inFuture,
            .expired,
            "timestamp \(timestamp) is \(timestamp - now) s in the future; the window is ±\(windowSeconds) s (check the clocks)",
            details: ["ts": String(timestamp), "now": String(now)]
        )
    }

    public static func replayed(nonce: String) -> Self {
        Self(.replayed, .replayed, "nonce \(nonce) was already used; sign every message with a fresh nonce")
    }

    public static var replayCacheFull: Self {
        Self(.replayCacheFull, .busy, "too many signed messages within the replay window; retry shortly")
    }
}

extension ErrorCode where Domain == VerificationError {
    /// A client message arrived without an auth section.
    public static var missingSignature: Self { Self("missing_signature") }
    /// The auth section is not the documented JSON object, or a field breaks its rules.
    public static var malformedAuth: Self { Self("malformed_auth") }
    /// No key with this id is in the verifier's keyring.
    public static var unknownKeyID: Self { Self("unknown_key_id") }
    /// The MAC does not match: wrong key, wrong agent, or a byte changed on the way.
    public static var badSignature: Self { Self("bad_signature") }
    /// `ts` is older than the window allows.
    public static var expired: Self { Self("timestamp_expired") }
    /// `ts` is further in the future than the window allows.
    public static var inFuture: Self { Self("timestamp_in_future") }
    /// The nonce was already used within the window.
    public static var replayed: Self { Self("replayed_nonce") }
    /// The replay cache is full; refusing is the only way to stay safe against replays.
    public static var replayCacheFull: Self { Self("replay_cache_full") }
}
