public import RollbackProtocol

/// Why an HTTP exchange failed below the level of an HTTP status. Compare ``code`` with the
/// static members of ``Code``; a struct, not an enum, so that a new code is not a breaking change.
public struct HTTP1ClientError: Error, Hashable, Sendable, CustomStringConvertible {
    public typealias Code = ErrorCode<HTTP1ClientError>

    /// What went wrong, for code to compare.
    public let code: Code
    /// What went wrong, for a person.
    public let message: String

    public var description: String { message }

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public static var connectionClosed: Self {
        Self(.connectionClosed, "the server closed the connection before the response ended")
    }

    public static func malformedResponse(_ why: String) -> Self {
        Self(.malformedResponse, "the response is malformed: \(why)")
    }

    public static func responseTooLarge(limit: Int) -> Self {
        Self(.responseTooLarge, "the response body exceeds \(limit) bytes")
    }

    public static func idle(after limit: Duration) -> Self {
        Self(.idle, "nothing arrived for \(limit); the connection was given up")
    }

    public static func timedOut(after limit: Duration) -> Self {
        Self(.timedOut, "no whole answer within \(limit)")
    }
}

extension ErrorCode where Domain == HTTP1ClientError {
    /// The server closed the connection before the response ended.
    public static var connectionClosed: Self { Self("connection_closed") }
    /// The response's parts arrived out of order.
    public static var malformedResponse: Self { Self("malformed_response") }
    /// The response body is larger than the connection accepts.
    public static var responseTooLarge: Self { Self("response_too_large") }
    /// Nothing arrived on the connection for its read-idle limit (it was closed).
    public static var idle: Self { Self("idle") }
    /// No whole response arrived within the request's deadline (the connection was closed).
    public static var timedOut: Self { Self("timed_out") }
}
