public import RollbackProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Failures of the socket layer, each with a message an operator can act on. Compare ``code``
/// with the static members of ``Code``; a struct, not an enum, so that a new code is not a
/// breaking change (the shape of swift-nio's `FileSystemError`).
public struct TransportError: Error, Hashable, Sendable, CustomStringConvertible {
    public typealias Code = ErrorCode<TransportError>

    /// What went wrong, for code to compare.
    public let code: Code
    /// What went wrong and what to do, naming the path or the reason.
    public let message: String
    /// The socket path involved, when there is one.
    public let path: String?

    public var description: String { message }

    private init(_ code: Code, _ message: String, path: String? = nil) {
        self.code = code
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

extension ErrorCode where Domain == TransportError {
    /// The socket path exists and a live server answers on it.
    public static var socketInUse: Self { Self("socket_in_use") }
    /// The socket path exists and is not a socket; it is never removed automatically.
    public static var pathIsNotASocket: Self { Self("path_is_not_a_socket") }
    /// The directory that should hold the socket does not exist.
    public static var socketDirectoryMissing: Self { Self("socket_directory_missing") }
    /// A system call failed while preparing the socket.
    public static var systemCall: Self { Self("system_call_failed") }
    /// The kernel did not report the peer's credentials.
    public static var peerCredentialsUnavailable: Self { Self("peer_credentials_unavailable") }
    /// The connection ended before the response to a request arrived.
    public static var connectionClosed: Self { Self("connection_closed") }
}
