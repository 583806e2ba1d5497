/// A process could not start for a reason outside its configuration: a service that does not
/// answer, a port in use, a socket path it cannot create. One line naming what and where
/// (never a password); exit code 1.
public struct StartupError: Error, Hashable, Sendable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
