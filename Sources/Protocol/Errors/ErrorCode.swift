/// The code of a public error of this package, the shape of swift-nio's `FileSystemError.Code`.
///
/// Each error type (`FrameError`, `TransportError`, …) is a struct with a `code` of type
/// `ErrorCode<ThatError>` and declares its codes as static members in an extension, so callers
/// compare (`error.code == .oversized`) and never switch exhaustively: adding a code does not
/// break anyone's build. `name` is stable and machine-readable (`frame_too_large`); it is what
/// logs, wire answers and `spec/vectors/` carry.
public struct ErrorCode<Domain>: Hashable, Sendable, CustomStringConvertible {
    /// The stable machine-readable name.
    public let name: String

    /// Only this package declares codes.
    package init(_ name: String) { self.name = name }

    public var description: String { name }
}
