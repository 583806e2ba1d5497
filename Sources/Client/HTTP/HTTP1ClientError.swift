/// Why an HTTP exchange failed below the level of an HTTP status. Compare ``code`` with the
/// static members of ``Code``; a struct, not an enum, so that a new code is not a breaking change.
public struct HTTP1ClientError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure, with a stable ``name`` for logs.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Wrapped: String, Sendable {
            case connectionClosed = "connection_closed"
            case malformedResponse = "malformed_response"
            case responseTooLarge = "response_too_large"
        }

        fileprivate let wrapped: Wrapped

        /// The server closed the connection before the response ended.
        public static var connectionClosed: Self { Self(wrapped: .connectionClosed) }
        /// The response's parts arrived out of order.
        public static var malformedResponse: Self { Self(wrapped: .malformedResponse) }
        /// The response body is larger than the connection accepts.
        public static var responseTooLarge: Self { Self(wrapped: .responseTooLarge) }

        /// The stable machine-readable name (`connection_closed`).
        public var name: String { wrapped.rawValue }
        public var description: String { name }
    }

    /// What went wrong, for code to compare.
    public let code: Code
    /// What went wrong, for a person.
    public let message: String

    public var description: String { message }

    private init(_ code: Code.Wrapped, _ message: String) {
        self.code = Code(wrapped: code)
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
}
