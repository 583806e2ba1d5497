import Logging
import RollbackProtocol
public import ServiceLifecycle

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
    let changes: ChangeHub
    let logger: Logger

    init(
        database: Database,
        redis: RedisClient,
        keys: RedisKeys,
        sink: any BuildSink,
        metrics: BrokerMetrics,
        agents: AgentDirectory,
        agentKeyring: Keyring,
        changes: ChangeHub,
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
            changes: changes,
            settings: settings,
            logger: logger
        )
        self.metrics = metrics
        self.changes = changes
        self.migrator = Migrator(database: database)
        self.agents = agents
        self.settings = settings
        self.logger = logger
    }

    public func run() async throws {
        let hosts = agents.hosts
        logger.info("dispatcher started", metadata: ["hosts": "\(hosts.joined(separator: ","))"])
        guard await migrator.waitUntilCurrent(logger: logger) else { return }
        // Subscribed before the first claim: a job queued after it is announced in the mailbox.
        await changes.withJobs(of: hosts) { wakeUps in
            await claimAndRun(hosts: hosts, wakeUps: wakeUps)
        }
    }

    /// Claims while there is work and room, then sleeps until a job of its hosts is queued or
    /// becomes due, one of its jobs ends, or the safety-net poll comes round (a due retry or an
    /// expired lease of a dead dispatcher announces nothing).
    private func claimAndRun(hosts: [String], wakeUps: Mailbox<Duration>) async {
        let active = RunningJobs()
        var lastHousekeeping = ContinuousClock.now - .seconds(3600)
        var nextDue: ContinuousClock.Instant?
        // Discarding: a long-lived dispatcher must not keep every finished job's task around.
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                if ContinuousClock.now - lastHousekeeping > .seconds(5) {
                    lastHousekeeping = .now
                    logger.trace("housekeeping")
                    await housekeeping()
                }
                var claimed: ClaimedJob?
                if active.count < settings.concurrency {
                    logger.trace("claiming", metadata: ["jobs.running": "\(active.count)"])
                    do {
                        claimed = try await queue.claim(
                            hosts: hosts,
                            owner: settings.owner,
                            running: active.all,
                            leaseSeconds: settings.leaseSeconds
                        )
                    } catch {
                        logger.warning(
                            "cannot claim jobs; retrying",
                            metadata: ["error": "\(String(reflecting: error))"]
                        )
                    }
                }
                if let job = claimed, let agent = agents.byHost[job.host] {
                    active.insert(job.id)
                    group.addTask {
                        await runner.run(job, agent: agent)
                        active.remove(job.id)
                        // Room for the next job.
                        wakeUps.post(.zero)
                    }
                    continue
                }
                var wait = settings.safetyNetPoll
                if let due = nextDue { wait = min(wait, max(due - .now, .zero)) }
                logger.trace("waiting for work", metadata: ["wait": "\(wait)"])
                let delivery = await wakeUps.takeUnlessShuttingDown(within: wait)
                if let due = nextDue, due <= .now { nextDue = nil }
                for dueIn in delivery.items where dueIn > .zero {
                    // A retry's backoff: come back when it is due. (Queued for now: claim now.)
                    let instant = ContinuousClock.now + dueIn
                    nextDue = min(nextDue ?? instant, instant)
                }
            }
            logger.info(
                "dispatcher stopping; waiting for the jobs it runs",
                metadata: ["jobs": "\(active.count)"]
            )
        }
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
