public import Logging
public import NIOCore
public import NIOPosix
public import RollbackProtocol
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A JSON-RPC server on a Unix stream socket: checks each peer's credentials before reading a
/// frame, verifies every client message's signature, runs the registered handlers concurrently
/// (requests are multiplexed on a connection and answered in any order), and gives every
/// request exactly one final response.
///
/// ```swift
/// let server = try await RPCServer.bind(configuration: config, verifier: verifier, methods: methods, logger: logger)
/// try await server.serve()   // until the task is cancelled
/// ```
public final class RPCServer: Sendable {
    public let configuration: RPCServerConfiguration
    private let verifier: RequestVerifier
    private let methods: MethodRegistry
    private let logger: Logger
    private let listener: NIOAsyncChannel<AcceptedConnection, Never>
    private let socketInode: ino_t
    /// Connections being served now, against `configuration.maxConnections`.
    private let openConnections = Mutex(0)
    /// The refusals' warnings, shared by every connection: at most one of each kind per
    /// `configuration.refusalLogInterval`.
    private let warnings: WarningThrottle

    /// An accepted connection with reading paused, its frame codec and async wrapper already
    /// installed: a peer that sends and half-closes at once makes NIO read everything at
    /// EOF whether or not reading is paused, and those bytes must meet the codec, not the end
    /// of an empty pipeline. Every accepted connection is taken by `handle`, which closes it.
    struct AcceptedConnection: Sendable {
        let channel: any Channel
        let peer: PeerCredentials
        let frames: NIOAsyncChannel<Frame, Frame>
    }

    private init(
        configuration: RPCServerConfiguration,
        verifier: RequestVerifier,
        methods: MethodRegistry,
        logger: Logger,
        listener: NIOAsyncChannel<AcceptedConnection, Never>,
        socketInode: ino_t
    ) {
        self.configuration = configuration
        self.verifier = verifier
        self.methods = methods
        self.logger = logger
        self.listener = listener
        self.socketInode = socketInode
        self.warnings = WarningThrottle(interval: configuration.refusalLogInterval)
    }

    /// Publishes the socket (probing and replacing a stale one) and starts accepting. When this
    /// returns, clients can connect.
    public static func bind(
        configuration: RPCServerConfiguration,
        verifier: RequestVerifier,
        methods: MethodRegistry,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> RPCServer {
        let path = configuration.socketPath
        try await UnixSocketFile.clearStale(path: path, group: eventLoopGroup)
        let privateDirectory = try UnixSocketFile.makePrivateDirectory(beside: path)
        defer { UnixSocketFile.removePrivateDirectory(privateDirectory, socketName: "s") }

        let listener = try await ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.backlog, value: 256)
            // Nothing is read before the connection's handler has checked the peer and
            // installed the frame codec.
            .childChannelOption(.autoRead, value: false)
            // A peer's half-close ends its input only: answers (a `truncated` error included)
            // can still be written before the connection closes.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .bind(unixDomainSocketPath: "\(privateDirectory)/s") {
                [limits = configuration.frameLimits, timeout = configuration.frameTimeout] channel in
                PeerCredentials.read(from: channel).flatMapThrowing {
                    AcceptedConnection(
                        channel: channel,
                        peer: $0,
                        frames: try channel.makeFrameChannel(
                            limits: limits,
                            frameTimeout: timeout.map { .nanoseconds(Int64($0 / .nanoseconds(1))) }
                        )
                    )
                }
            }
        let inode: ino_t
        do {
            inode = try UnixSocketFile.publish(
                boundAt: "\(privateDirectory)/s",
                to: path,
                mode: configuration.socketMode,
                group: configuration.socketGroup
            )
        } catch {
            try? await listener.channel.close()
            throw error
        }
        logger.info(
            "listening",
            metadata: [
                "socket.path": "\(path)", "socket.mode": "\(String(configuration.socketMode, radix: 8))",
            ]
        )
        return RPCServer(
            configuration: configuration,
            verifier: verifier,
            methods: methods,
            logger: logger,
            listener: listener,
            socketInode: inode
        )
    }

    /// Accepts and serves connections until the calling task is cancelled, then closes the
    /// listener, stops reading from open connections, waits until every request already running
    /// has been answered, and removes the socket file. Handlers that may run long must be ended
    /// by their owner (see `RollbackAgent.run`'s grace period).
    public func serve() async throws {
        defer { UnixSocketFile.remove(path: configuration.socketPath, inode: socketInode) }
        // The accept loop runs in its own task so that cancelling `serve` does not abandon
        // connections already accepted but not yet handed out: closing the listener ends the
        // loop only after every accepted connection has been taken and properly closed.
        let accepting = Task { try await self.acceptConnections() }
        try await withTaskCancellationHandler {
            try await accepting.value
        } onCancel: {
            listener.channel.close(promise: nil)
        }
    }

    private func acceptConnections() async throws {
        try await listener.executeThenClose { inbound in
            try await withThrowingDiscardingTaskGroup { group in
                for try await connection in inbound {
                    group.addTask { await self.handle(connection) }
                }
                // The listener is closed: the server is stopping. Open connections stop reading;
                // their running requests still get their one final response.
                group.cancelAll()
            }
        }
    }

    private func handle(_ connection: AcceptedConnection) async {
        var logger = self.logger
        logger[metadataKey: "peer.pid"] = "\(connection.peer.pid)"
        logger[metadataKey: "peer.uid"] = "\(connection.peer.uid)"
        let session = ConnectionSession(
            peer: connection.peer,
            verifier: verifier,
            methods: methods,
            maxInFlight: configuration.maxInFlightRequestsPerConnection,
            logger: logger,
            warnings: warnings
        )
        let frameChannel = connection.frames
        let (open, admitted) = openConnections.withLock { count in
            guard count < configuration.maxConnections else { return (count, false) }
            count += 1
            return (count, true)
        }
        defer { if admitted { openConnections.withLock { $0 -= 1 } } }
        do {
            try await frameChannel.executeThenClose { inbound, outbound in
                guard admitted else {
                    logger.warning(
                        "connection refused: too many open",
                        throttledBy: warnings,
                        metadata: [
                            "connections.open": "\(open)",
                            "connections.max": "\(configuration.maxConnections)",
                        ]
                    )
                    let error = RPCError(
                        .unavailable,
                        "the agent has \(open) connections open, its limit; retry, or raise maxConnections",
                        details: [
                            "reason": "too_many_connections", "limit": String(configuration.maxConnections),
                        ]
                    )
                    try await outbound.write(
                        Frame(body: OutgoingMessage.errorResponse(id: nil, error: error))
                    )
                    return
                }
                if let allowed = configuration.allowedPeerUIDs, !allowed.contains(connection.peer.uid) {
                    logger.warning("peer refused: uid not allowed", throttledBy: warnings)
                    let error = RPCError(
                        .unauthenticated,
                        "peer uid \(connection.peer.uid) is not allowed to use this socket",
                        details: ["reason": "peer_not_allowed", "uid": String(connection.peer.uid)]
                    )
                    try await outbound.write(
                        Frame(body: OutgoingMessage.errorResponse(id: nil, error: error))
                    )
                    return
                }
                // Reading starts only now, after the peer check.
                try await connection.channel.setOption(.autoRead, value: true).get()
                await session.run(inbound: inbound, outbound: outbound)
            }
        } catch {
            logger.debug("connection ended with error", metadata: ["error": "\(error)"])
        }
    }
}
