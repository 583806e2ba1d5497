public import Logging
import NIOPosix
import RollbackProtocol
import RollbackRuntime
import RollbackTransport
public import ServiceLifecycle
import Synchronization

/// The agent: serves the protocol on its Unix socket and runs syncs. A `Service`: run it in a
/// `ServiceGroup`, whose graceful shutdown (SIGTERM) drains it and whose cancellation stops it
/// at once.
///
/// ```swift
/// let agent = try await RollbackAgent.start(configuration: configuration, logger: logger)
/// let group = ServiceGroup(configuration: .init(
///     services: [agent], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
/// try await group.run()
/// ```
public final class RollbackAgent: Service, Sendable {
    /// Version reported by `agent.hello` and `agent.health`.
    public static let version = BuildInfo.version

    public let configuration: AgentConfiguration
    public let jobs: JobManager
    private let server: RPCServer
    private let logger: Logger

    private init(configuration: AgentConfiguration, jobs: JobManager, server: RPCServer, logger: Logger) {
        self.configuration = configuration
        self.jobs = jobs
        self.server = server
        self.logger = logger
    }

    /// Validates the configuration, loads the keyring, recovers from an earlier crash, and
    /// publishes the socket. Throws `ConfigurationError` for a bad configuration.
    public static func start(configuration: AgentConfiguration, logger: Logger) async throws -> RollbackAgent
    {
        try configuration.validate()
        let keyring = try KeyringFile.load(configuration.keyringFile, field: "keyringFile")
        let store: StateStore
        do {
            store = try StateStore(root: configuration.stateDirectory)
        } catch {
            throw ConfigurationError(field: "stateDirectory", message: "\(error)")
        }
        let artifacts = ArtifactStore(
            cacheDirectory: store.cacheDirectory,
            temporaryDirectory: store.temporaryDirectory,
            maxCacheBytes: configuration.artifactCacheBytes,
            stallTimeout: .seconds(configuration.downloadStallSeconds)
        )
        let jobs = JobManager(
            settings: configuration.syncSettings,
            store: store,
            artifacts: artifacts,
            maxConcurrentJobs: configuration.maxConcurrentJobs,
            treeWatch: TreeWatch(minimumFiles: configuration.watchTreesFromFiles, logger: logger),
            logger: logger
        )
        await jobs.recover()

        let serverConfiguration = RPCServerConfiguration(
            socketPath: configuration.socketPath,
            socketMode: configuration.socketModeBits,
            socketGroup: try configuration.socketGroupID(),
            allowedPeerUIDs: configuration.allowedPeerUIDs.map(Set.init),
            frameLimits: FrameLimits(maxBodyLength: configuration.maxFrameBytes),
            frameTimeout: .seconds(configuration.frameTimeoutSeconds),
            maxConnections: configuration.maxConnections
        )
        let methods = AgentMethods(configuration: configuration, jobs: jobs, startedAt: .now).registry(
            maxInFlight: serverConfiguration.maxInFlightRequestsPerConnection
        )
        let server = try await RPCServer.bind(
            configuration: serverConfiguration,
            verifier: RequestVerifier(agentID: configuration.agentID, keyring: keyring),
            methods: methods,
            logger: logger
        )
        logger.info(
            "agent ready",
            metadata: ["agent.id": "\(configuration.agentID)", "work.root": "\(configuration.workRoot)"]
        )
        return RollbackAgent(configuration: configuration, jobs: jobs, server: server, logger: logger)
    }

    /// Serves until a graceful shutdown (SIGTERM in a `ServiceGroup`) or cancellation.
    ///
    /// - Graceful shutdown: stops accepting connections, lets running syncs finish for up to
    ///   `shutdownGraceSeconds`, then cancels those still before their swap (the others finish:
    ///   they are past the point of no return), and returns once every sync has ended and been
    ///   answered.
    /// - Cancellation is forceful: syncs before their swap are cancelled at once.
    public func run() async throws {
        let serving = Task { try await server.serve() }
        let jobs = self.jobs
        let grace = Duration.seconds(configuration.shutdownGraceSeconds)
        let logger = self.logger
        let deadline = Mutex<Task<Void, Never>?>(nil)
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                _ = await serving.result
            } onGracefulShutdown: {
                logger.info(
                    "stopping: no new connections; running syncs may finish",
                    metadata: ["grace.seconds": "\(grace.components.seconds)"]
                )
                serving.cancel()
                deadline.withLock {
                    $0 = Task {
                        guard (try? await Task.sleep(for: grace)) != nil else { return }
                        await jobs.cancelRunning(reason: "shutdown grace period over")
                    }
                }
            }
        } onCancel: {
            logger.info("cancelled: stopping now; syncs before their swap are cancelled")
            serving.cancel()
            deadline.withLock { $0 = Task { await jobs.cancelRunning(reason: "agent cancelled") } }
        }
        logger.debug("server stopped; waiting for jobs")
        // Jobs whose callers had disconnected are not waited for by the server.
        await jobs.waitUntilIdle()
        deadline.withLock { $0?.cancel() }
        logger.info("stopped")
    }
}
