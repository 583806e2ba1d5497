/// Failures of the socket layer, each with a message an operator can act on.
public enum TransportError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The socket path exists and a live server answers on it.
    case socketInUse(path: String)
    /// The socket path exists and is not a socket; it is never removed automatically.
    case pathIsNotASocket(path: String)
    /// The directory that should hold the socket does not exist.
    case socketDirectoryMissing(path: String)
    /// A system call failed while preparing the socket.
    case systemCall(String, errno: Int32, path: String)
    /// The kernel did not report the peer's credentials.
    case peerCredentialsUnavailable
    /// The connection ended before the response to a request arrived.
    case connectionClosed(reason: String)

    public var description: String {
        switch self {
        case .socketInUse(let path):
            "another process is already serving on \(path); stop it or choose another socket path"
        case .pathIsNotASocket(let path):
            "\(path) exists and is not a socket; refusing to replace it"
        case .socketDirectoryMissing(let path):
            "socket directory \(path) does not exist; create it (owned by the agent's user) first"
        case .systemCall(let call, let errno, let path):
            "\(call) failed for \(path): \(String(cString: strerror(errno))) (errno \(errno))"
        case .peerCredentialsUnavailable:
            "the peer's credentials (SO_PEERCRED) are unavailable on this socket"
        case .connectionClosed(let reason):
            "connection closed before a response arrived: \(reason)"
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
