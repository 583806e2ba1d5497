public import RollbackProtocol

#if canImport(Glibc)
public import Glibc
#elseif canImport(Darwin)
public import Darwin
#endif

/// How an `RPCServer` listens and whom it lets in.
public struct RPCServerConfiguration: Sendable {
    /// Where the socket file is published. Its directory must exist.
    public var socketPath: String
    /// Permission bits of the socket file; the default lets owner and group connect.
    public var socketMode: mode_t
    /// Group given to the socket file, so that a broker in that group may connect.
    public var socketGroup: gid_t?
    /// Peer uids allowed to talk to the server (checked with `SO_PEERCRED` before any frame is
    /// read). `nil` admits whoever the file permissions admit.
    public var allowedPeerUIDs: Set<UInt32>?
    public var frameLimits: FrameLimits
    /// Requests one connection may have in flight; more are answered `busy`.
    public var maxInFlightRequestsPerConnection: Int
    /// How long a frame may take to arrive once its first byte has (`frame_timeout` after it);
    /// nil waits for ever. Bounds what a stalled or hostile peer can hold.
    public var frameTimeout: Duration?
    /// Connections open at once; one more is answered `unavailable` (`too_many_connections`)
    /// and closed, so a flood cannot exhaust the agent's file descriptors or memory.
    public var maxConnections: Int
    /// How often each kind of refusal (a bad frame, a bad signature, a connection past the
    /// limit) may be logged; the next line says how many were held back. A flood of bad
    /// connections is then a few lines, not one per connection.
    public var refusalLogInterval: Duration

    public init(
        socketPath: String,
        socketMode: mode_t = 0o660,
        socketGroup: gid_t? = nil,
        allowedPeerUIDs: Set<UInt32>? = nil,
        frameLimits: FrameLimits = .default,
        maxInFlightRequestsPerConnection: Int = 128,
        frameTimeout: Duration? = .seconds(30),
        maxConnections: Int = 512,
        refusalLogInterval: Duration = .seconds(10)
    ) {
        self.socketPath = socketPath
        self.socketMode = socketMode
        self.socketGroup = socketGroup
        self.allowedPeerUIDs = allowedPeerUIDs
        self.frameLimits = frameLimits
        self.maxInFlightRequestsPerConnection = maxInFlightRequestsPerConnection
        self.frameTimeout = frameTimeout
        self.maxConnections = maxConnections
        self.refusalLogInterval = refusalLogInterval
    }
}
