#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Failures of the socket layer, each with a message an operator can act on. Compare ``code``
/// with the static members of ``Code``; a struct, not an enum, so that a new code is not a
/// breaking change (the shape of swift-nio's `FileSystemError`).
public struct TransportError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure, with a stable ``name`` for logs.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Wrapped: String, Sendable {
            case socketInUse = "socket_in_use"
            case pathIsNotASocket = "path_is_not_a_socket"
            case socketDirectoryMissing = "socket_directory_missing"
            case systemCall = "system_call_failed"
            case peerCredentialsUnavailable = "peer_credentials_unavailable"
            case connectionClosed = "connection_closed"
        }

        fileprivate let wrapped: Wrapped

        /// The socket path exists and a live server answers on it.
        public static var socketInUse: Self { Self(wrapped: .socketInUse) }
        /// The socket path exists and is not a socket; it is never removed automatically.
        public static var pathIsNotASocket: Self { Self(wrapped: .pathIsNotASocket) }
        /// The directory that should hold the socket does not exist.
        public static var socketDirectoryMissing: Self { Self(wrapped: .socketDirectoryMissing) }
        /// A system call failed while preparing the socket.
        public static var systemCall: Self { Self(wrapped: .systemCall) }
        /// The kernel did not report the peer's credentials.
        public static var peerCredentialsUnavailable: Self { Self(wrapped: .peerCredentialsUnavailable) }
        /// The connection ended before the response to a request arrived.
        public static var connectionClosed: Self { Self(wrapped: .connectionClosed) }

        /// The stable machine-readable name (`socket_in_use`).
        public var name: String { wrapped.rawValue }
        public var description: String { name }
    }

    /// What went wrong, for code to compare.
    public let code: Code
    /// What went wrong and what to do, naming the path or the reason.
    public let message: String
    /// The socket path involved, when there is one.
    public let path: String?

    public var description: String { message }

    private init(_ code: Code.Wrapped, _ message: String, path: String? = nil) {
        self.code = Code(wrapped: code)
        self.message = message
        self.path = path
    }

    public static func socketInUse(path: String) -> Self {
        Self(
            .socketInUse,
            "another process is already serving on \(path); stop it or choose another socket path",
            path: path
        )
    }

    public static func pathIsNotASocket(path: String) -> Self {
        Self(.pathIsNotASocket, "\(path) exists and is not a socket; refusing to replace it", path: path)
    }

    public static func socketDirectoryMissing(path: String) -> Self {
        Self(
            .socketDirectoryMissing,
            "socket directory \(path) does not exist; create it (owned by the agent's user) first",
            path: path
        )
    }

    public static func systemCall(_ call: String, errno: Int32, path: String) -> Self {
        Self(
            .systemCall,
            "\(call) failed for \(path): \(String(cString: strerror(errno))) (errno \(errno))",
            path: path
        )
    }

    public static var peerCredentialsUnavailable: Self {
        Self(
            .peerCredentialsUnavailable,
            "the peer's credentials (SO_PEERCRED) are unavailable on this socket"
        )
    }

    public static func connectionClosed(reason: String) -> Self {
        Self(.connectionClosed, "connection closed before a response arrived: \(reason)")
    }
}
