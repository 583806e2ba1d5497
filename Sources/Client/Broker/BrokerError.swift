/// A failed broker call: the broker's own error (`status` and its stable `code`, from
/// `{ "error": { "code", "message", "details" } }`, listed in `spec/openapi.yaml`), or a
/// client-side failure with `status` nil and `code` `unreachable`, `timeout` (no answer within
/// ``BrokerClient/requestTimeout``) or `invalid_response`.
public struct BrokerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The HTTP status, or nil when no answer came.
    public let status: Int?
    public let code: String
    public let message: String
    public let details: [String: String]

    public init(status: Int?, code: String, message: String, details: [String: String] = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
    }

    /// Nothing was written and the same call may succeed later: the broker could not be
    /// reached, or it answered 503 (PostgreSQL or Redis away).
    public var isRetryable: Bool { status == nil && code == "unreachable" || status == 503 }

    public var description: String { "\(code): \(message)" }

    static func unreachable(_ error: any Error, url: String) -> BrokerError {
        BrokerError(status: nil, code: "unreachable", message: "cannot reach the broker at \(url): \(error)")
    }

    static func timedOut(method: String, target: String, after limit: Duration, url: String) -> BrokerError {
        BrokerError(
            status: nil,
            code: "timeout",
            message:
                "the broker at \(url) did not answer \(method) \(target) within \(limit); it may still be acting on it, so check before repeating"
        )
    }

    static func invalidResponse(_ message: String) -> BrokerError {
        BrokerError(status: nil, code: "invalid_response", message: message)
    }
}
