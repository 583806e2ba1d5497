/// Why a signed message was refused. Each case is distinct; `rpcError` maps it onto the
/// protocol's error codes, with the case's name as `details.reason`.
public enum VerificationError: Error, Hashable, Sendable {
    /// A client message arrived without an auth section.
    case missingSignature
    /// The auth section is not the documented JSON object, or a field breaks its rules.
    case malformedAuth(String)
    /// No key with this id is in the verifier's keyring.
    case unknownKeyID(String)
    /// The MAC does not match: wrong key, wrong agent, or a byte changed on the way.
    case badSignature
    /// `ts` is older than the window allows.
    case expired(timestamp: Int64, now: Int64, windowSeconds: Int64)
    /// `ts` is further in the future than the window allows.
    case inFuture(timestamp: Int64, now: Int64, windowSeconds: Int64)
    /// The nonce was already used within the window.
    case replayed(nonce: String)
    /// The replay cache is full; refusing is the only way to stay safe against replays.
    case replayCacheFull

    /// Stable name, sent as `details.reason` and used by the test vectors.
    public var name: String {
        switch self {
        case .missingSignature: "missing_signature"
        case .malformedAuth: "malformed_auth"
        case .unknownKeyID: "unknown_key_id"
        case .badSignature: "bad_signature"
        case .expired: "timestamp_expired"
        case .inFuture: "timestamp_in_future"
        case .replayed: "replayed_nonce"
        case .replayCacheFull: "replay_cache_full"
        }
    }

    /// The error response sent to the peer.
    public var rpcError: RPCError {
        switch self {
        case .missingSignature:
            RPCError(
                .unauthenticated,
                "message is not signed; every client message needs an auth section",
                details: ["reason": name]
            )
        case .malformedAuth(let why):
            RPCError(.unauthenticated, "auth section is malformed: \(why)", details: ["reason": name])
        case .unknownKeyID(let kid):
            RPCError(
                .unauthenticated,
                "key id \"\(kid)\" is not in this agent's keyring",
                details: ["reason": name, "kid": kid]
            )
        case .badSignature:
            RPCError(
                .unauthenticated,
                "signature does not match (wrong key, wrong agent id, or the message was altered)",
                details: ["reason": name]
            )
        case .expired(let ts, let now, let window):
            RPCError(
                .expired,
                "timestamp \(ts) is \(now - ts) s old; the window is ±\(window) s (check the clocks)",
                details: ["reason": name, "ts": String(ts), "now": String(now)]
            )
        case .inFuture(let ts, let now, let window):
            RPCError(
                .expired,
                "timestamp \(ts) is \(ts - now) s in the future; the window is ±\(window) s (check the clocks)",
                details: ["reason": name, "ts": String(ts), "now": String(now)]
            )
        case .replayed(let nonce):
            RPCError(
                .replayed,
                "nonce \(nonce) was already used; sign every message with a fresh nonce",
                details: ["reason": name]
            )
        case .replayCacheFull:
            RPCError(
                .busy,
                "too many signed messages within the replay window; retry shortly",
                details: ["reason": name]
            )
        }
    }
}
