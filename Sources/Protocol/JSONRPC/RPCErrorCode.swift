/// A JSON-RPC error code together with its stable machine-readable name and whether a caller
/// may retry the same operation.
///
/// Codes are opaque to callers: switch on `name` or compare with the static members, never on
/// ranges of numbers.
public struct RPCErrorCode: Hashable, Sendable, CustomStringConvertible {
    /// The integer sent in the JSON-RPC `error.code` member.
    public let rawValue: Int
    /// Stable snake_case name sent in `error.data.name`.
    public let name: String
    /// Whether repeating the request (re-signed, with a new nonce) may succeed.
    public let isRetryable: Bool

    private init(_ rawValue: Int, _ name: String, retryable: Bool) {
        self.rawValue = rawValue
        self.name = name
        self.isRetryable = retryable
    }

    public var description: String { name }

    // MARK: JSON-RPC 2.0 standard codes.
    public static let parseError = RPCErrorCode(-32700, "parse_error", retryable: false)
    public static let invalidRequest = RPCErrorCode(-32600, "invalid_request", retryable: false)
    public static let methodNotFound = RPCErrorCode(-32601, "method_not_found", retryable: false)
    public static let invalidParams = RPCErrorCode(-32602, "invalid_params", retryable: false)
    public static let internalError = RPCErrorCode(-32603, "internal", retryable: true)

    // MARK: Rollback application codes (JSON-RPC's server range -32000...-32099).
    /// Missing, malformed or wrong signature, unknown key id, or a peer that is not allowed.
    public static let unauthenticated = RPCErrorCode(-32001, "unauthenticated", retryable: false)
    /// The request's timestamp is outside the verifier's window (too old or in the future).
    public static let expired = RPCErrorCode(-32002, "expired", retryable: true)
    /// The request's nonce was seen before within the window.
    public static let replayed = RPCErrorCode(-32003, "replayed", retryable: false)
    /// The request carries an epoch lower than one already seen for the project.
    public static let staleEpoch = RPCErrorCode(-32004, "stale_epoch", retryable: false)
    /// The agent is busy (same project syncing, or a capacity limit); try again later.
    public static let busy = RPCErrorCode(-32005, "busy", retryable: true)
    /// The named job, project or artifact does not exist.
    public static let notFound = RPCErrorCode(-32006, "not_found", retryable: false)
    /// The request was cancelled before it completed.
    public static let cancelled = RPCErrorCode(-32007, "cancelled", retryable: false)
    /// The request did not complete within its deadline.
    public static let deadlineExceeded = RPCErrorCode(-32008, "deadline_exceeded", retryable: true)
    /// None of the protocol versions offered by the client is spoken by the agent.
    public static let unsupportedVersion = RPCErrorCode(-32009, "unsupported_version", retryable: false)
    /// The artifact was refused: wrong checksum or size, or an archive that breaks a safety rule
    /// (`details.reason` and `details.entry` say which).
    public static let artifactRejected = RPCErrorCode(-32010, "artifact_rejected", retryable: false)
    /// Something the agent depends on (the artifact store, the disk) failed for now.
    public static let unavailable = RPCErrorCode(-32011, "unavailable", retryable: true)

    /// Every code this implementation knows, for lookup when decoding.
    public static let all: [RPCErrorCode] = [
        .parseError, .invalidRequest, .methodNotFound, .invalidParams, .internalError,
        .unauthenticated, .expired, .replayed, .staleEpoch, .busy, .notFound, .cancelled,
        .deadlineExceeded, .unsupportedVersion, .artifactRejected, .unavailable,
    ]

    /// Looks up a known code by its integer; unknown integers from a newer peer map to a code
    /// with the name sent by the peer (or `unknown`) and are treated as not retryable.
    public static func from(rawValue: Int, name: String?, retryable: Bool?) -> RPCErrorCode {
        if let known = all.first(where: { $0.rawValue == rawValue }) { return known }
        return RPCErrorCode(rawValue, name ?? "unknown", retryable: retryable ?? false)
    }
}
