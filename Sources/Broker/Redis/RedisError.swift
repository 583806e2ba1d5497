/// A failure to talk to Redis at all (as opposed to an error reply).
public struct RedisError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// No connection could be made (refused, timed out, unknown host).
        case unreachable
        /// The connection broke during a command; the reply is unknown.
        case io
        /// Redis sent something hiredis could not parse.
        case protocolError
        /// Redis answered with an error reply where the broker needed a result.
        case commandFailed
    }

    public let code: Code
    /// hiredis's own message.
    public let message: String
    public let endpoint: String

    public var description: String { "redis \(code.rawValue) at \(endpoint): \(message)" }
}
