import Logging
import RollbackProtocol
public import ServiceLifecycle
import Synchronization

/// The job runner of `rollback-broker dispatch`: claims the jobs of the hosts in its
/// `AgentDirectory` and runs each through that host's agent. Several dispatchers may serve the
/// same hosts; `FOR UPDATE SKIP LOCKED` and the lease keep each job to one at a time. On
/// graceful shutdown it stops claiming and lets the jobs it runs finish.
public struct Dispatcher: Service {
    let queue: JobQueue
    let runner: JobRunner
    let relay: HeldBuildRelay
    let metrics: BrokerMetrics
    let agents: AgentDirectory
    let settings: DispatchSettings
    let migrator: Migrator
    let logger: Logger

    init(
        database: Database,
        redis: RedisClient,
        keys: RedisKeys,
        sink: any BuildSink,
        metrics: BrokerMetrics,
        agents: AgentDirectory,
        agentKeyring: Keyring,
        settings: DispatchSettings,
        logger: Logger
    ) {
        var logger = logger
        logger[metadataKey: "dispatcher"] = "\(settings.owner)"
        queue = JobQueue(database: database, logger: logger)
        relay = HeldBuildRelay(database: database, sink: sink, logger: logger)
        runner = JobRunner(
            queue: queue,
            outcomes: OutcomeRecorder(database: database, logger: logger),
            relay: relay,
            publisher: EventPublisher(redis: redis, keys: keys, logger: logger),
            lock: ProjectLock(redis: redis, keys: keys),
            metrics: metrics,
            keyring: agentKeyring,
            settings: settings,
            logger: logger
        )
        self.metrics = metrics
        self.migrator = Migrator(database: database)
        self.agents = agents
        self.settings = settings
        self.logger = logger
    }

    public func run() async throws {
        let hosts = agents.hosts
        logger.info("dispatcher started", metadata: ["hosts": "\(hosts.joined(separator: ","))"])
        guard await waitForSchema() else { return }
        let active = ActiveJobs()
        var lastHousekeeping = ContinuousClock.now - .seconds(3600)
        // Discarding: a long-lived dispatcher must not keep every finished job's task around.
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                if ContinuousClock.now - lastHousekeeping > .seconds(5) {
                    lastHousekeeping = .now
                    await housekeeping()
                }
                var claimed: ClaimedJob?
                if active.count < settings.concurrency {
                    do {
                        claimed = try await queue.claim(
                            hosts: hosts,
                            owner: settings.owner,
                            leaseSeconds: settings.leaseSeconds
                        )
                    } catch {
                        logger.warning(
                            "cannot claim jobs; retrying",
                            metadata: ["error": "\(String(reflecting: error))"]
                        )
                    }
                }
                guard let job = claimed, let agent = agents.byHost[job.host] else {
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: settings.pollInterval) }
                    continue
                }
                active.add(1)
                group.addTask {
                    await runner.run(job, agent: agent)
                    active.add(-1)
                }
            }
            logger.info(
                "dispatcher stopping; waiting for the jobs it runs",
                metadata: ["jobs": "\(active.count)"]
            )
        }
    }

    /// Waits until the schema is at least the one this code needs (migrations are run by `serve`
    /// at start or by `migrate`); false when stopped first.
    private func waitForSchema() async -> Bool {
        var reported = false
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            let applied = (try? await migrator.appliedVersions(logger: logger)) ?? []
            if (applied.last ?? 0) >= Migrator.latestVersion { return true }
            if !reported {
                logger.notice(
                    "waiting for database migrations",
                    metadata: [
                        "schema.version": "\(applied.last ?? 0)",
                        "schema.needed": "\(Migrator.latestVersion)",
                    ]
                )
                reported = true
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: settings.pollInterval) }
        }
        return false
    }

    /// Gauges from PostgreSQL, and released builds whose hand-over was interrupted.
    private func housekeeping() async {
        if let depth = try? await queue.depth() {
            metrics.queueDepth.set(Double(depth.queued))
            metrics.rollbacksInProgress.set(Double(depth.unfinished))
        }
        await relay.deliverPending(hosts: agents.hosts)
    }
}

/// How many jobs this dispatcher runs right now.
private final class ActiveJobs: Sendable {
    private let value = Atomic<Int>(0)
    var count: Int { value.load(ordering: .relaxed) }
    func add(_ delta: Int) { value.add(delta, ordering: .relaxed) }
}
