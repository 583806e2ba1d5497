import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// The process on the other end of a Unix socket, as the kernel reports it (`SO_PEERCRED`).
/// It cannot be forged by the peer, which makes it the first wall before signatures.
public struct PeerCredentials: Hashable, Sendable, CustomStringConvertible {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32

    public init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    public var description: String { "pid=\(pid) uid=\(uid) gid=\(gid)" }
}

/// Memory layout of Linux's `struct ucred`.
private struct RawUcred: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

extension PeerCredentials {
    /// Reads the peer's credentials from a connected Unix socket channel.
    ///
    /// Kept internal and non-inlinable: NIO documents that `unsafeGetSocketOption` must be
    /// called from such a function to avoid miscompilation in release builds.
    static func read(from channel: any Channel) -> EventLoopFuture<PeerCredentials> {
        #if os(Linux)
        guard let provider = channel as? any SocketOptionProvider else {
            return channel.eventLoop.makeFailedFuture(TransportError.peerCredentialsUnavailable)
        }
        let future: EventLoopFuture<RawUcred> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET),
            name: SocketOptionName(SO_PEERCRED)
        )
        return future.map { PeerCredentials(pid: $0.pid, uid: $0.uid, gid: $0.gid) }
        #else
        return channel.eventLoop.makeFailedFuture(TransportError.peerCredentialsUnavailable)
        #endif
    }
}
