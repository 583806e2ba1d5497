import Foundation
import Logging
import RollbackClient
import RollbackProtocol
import RollbackRuntime
import Synchronization
import Tracing

/// Runs one claimed job to its outcome: a signed `workdir.sync` to the host's agent (resuming an
/// earlier attempt when there is one), throttled progress stored and published, a heartbeat
/// that renews the lease and the project lock, and then success, a retry, or failure with
/// recovery.
struct JobRunner: Sendable {
    let queue: JobQueue
    let outcomes: OutcomeRecorder
    let relay: HeldBuildRelay
    let publisher: EventPublisher
    let lock: ProjectLock
    let metrics: BrokerMetrics
    let keyring: Keyring
    let changes: ChangeHub
    let settings: DispatchSettings
    let logger: Logger

    func run(_ job: ClaimedJob, agent: AgentAddress) async {
        // A child of the request that accepted the rollback (its stored traceparent), around
        // the whole job, so every line logged for it carries the trace id.
        let parent = TracePropagation.context(from: job.traceParent.flatMap { TraceContext(traceparent: $0) })
        await withSpan("rollback.dispatch", context: parent, ofKind: .client) { span in
            span.attributes["rollback.job.id"] = job.idText
            span.attributes["rollback.project.id"] = job.projectID
            span.attributes["rollback.job.attempt"] = job.attempts
            await run(job, agent: agent, span: span)
        }
    }

    private func run(_ job: ClaimedJob, agent: AgentAddress, span: any Span) async {
        var logger = self.logger
        logger[metadataKey: "job.id"] = "\(job.idText)"
        logger[metadataKey: "project.id"] = "\(job.projectID)"
        logger[metadataKey: "job.attempt"] = "\(job.attempts)"
        logger.info(
            job.rescued ? "rescuing job" : "dispatching job",
            metadata: ["agent.host": "\(agent.host)"]
        )
        let attempt = await withHeartbeat(job, agent: agent, logger: logger) {
            await sync(job, agent: agent, logger: logger)
        }
        switch attempt {
        case nil: break
        case .success(let result):
            // The agent's own phases, so the dispatch span alone shows where the time went.
            for (phase, milliseconds) in result.phaseMilliseconds.sorted(by: { $0.key < $1.key }) {
                span.attributes["rollback.agent.phase.\(phase).ms"] = milliseconds
            }
        case .failure(let failure):
            span.setStatus(SpanStatus(code: .error, message: failure.code))
        }
        guard let attempt else {
            // This dispatcher is stopping: the sync goes on at the agent, and the dispatcher
            // that claims the job when its lease runs out picks up its outcome.
            logger.notice("dispatcher cancelled; the job is left to be rescued")
            return
        }
        do {
            // A sync the agent stopped because a cancel was requested ends the rollback as
            // canceled. Stopped when nobody asked (the agent shutting down), before the swap,
            // nothing changed and another attempt may succeed once the agent is back.
            var attempt = attempt
            if case .failure(var failure) = attempt, failure.code == RPCErrorCode.cancelled.name {
                if let canceled = try await outcomes.cancel(job, owner: settings.owner) {
                    await effects.apply(
                        canceled.written,
                        projectID: job.projectID,
                        epoch: job.epoch,
                        logger: logger
                    )
                    metrics.rollbackFinished(
                        succeeded: false,
                        after: .milliseconds(Int64(Date().timeIntervalSince(job.createdAt) * 1000)),
                        failureReason: "canceled"
                    )
                    logger.notice("rollback canceled before the swap; project restored")
                    return
                }
                failure.retryable = true
                attempt = .failure(failure)
            }
            switch attempt {
            case .success(let result):
                try await finish(
                    job,
                    written: try await outcomes.succeed(job, owner: settings.owner, result: result),
                    failure: nil,
                    logger: logger
                )
            case .failure(let failure) where failure.retryable && job.attempts < job.maxAttempts:
                let delay = settings.backoff(afterAttempt: job.attempts)
                let kept = try await queue.requeue(job, owner: settings.owner, after: delay, error: failure)
                logger.warning(
                    kept ? "sync attempt failed; retrying" : "sync attempt failed and the lease was lost",
                    metadata: ["error": "\(failure)", "retry.after": "\(delay)"]
                )
            case .failure(let failure):
                try await finish(
                    job,
                    written: try await outcomes.fail(job, owner: settings.owner, failure: failure),
                    failure: failure,
                    logger: logger
                )
            }
        } catch {
            // The outcome could not be written (PostgreSQL away): the lease runs out and a
            // dispatcher (this one too, once the job is no longer among those it runs) rescues
            // the job, asking the agent again. Nothing is half-written.
            logger.error(
                "cannot record the job's outcome; it will be rescued",
                metadata: ["error": "\(error)"]
            )
        }
    }

    var effects: OutcomeEffects { OutcomeEffects(relay: relay, publisher: publisher, lock: lock) }

    /// After a committed outcome: builds to the build system, events out, lock ended, metrics.
    private func finish(
        _ job: ClaimedJob,
        written: OutcomeRecorder.Written?,
        failure: DispatchFailure?,
        logger: Logger
    ) async throws {
        guard let written else {
            logger.warning("outcome not written: another dispatcher or a newer rollback owns the project now")
            return
        }
        await effects.apply(written, projectID: job.projectID, epoch: job.epoch, logger: logger)
        metrics.rollbackFinished(
            succeeded: failure == nil,
            after: .milliseconds(Int64(Date().timeIntervalSince(job.createdAt) * 1000)),
            failureReason: failure?.code
        )
        if let failure {
            logger.warning("rollback failed; project restored", metadata: ["error": "\(failure)"])
        } else {
            logger.info(
                "rollback completed",
                metadata: ["released.builds": "\(written.releasedBuilds.count)"]
            )
        }
    }

    /// Talks to the agent. Where an earlier attempt may have got somewhere (a rescue, or a retry
    /// after a broken connection), asks `job.status` first: a finished sync is taken as is, a
    /// running one is joined (the same params attach to it), anything else starts afresh. Nil
    /// when this dispatcher is cancelled meanwhile: the agent is not asked to cancel the sync.
    private func sync(
        _ job: ClaimedJob,
        agent: AgentAddress,
        logger: Logger
    ) async -> Result<WorkdirSync.Result, DispatchFailure>? {
        let client = AgentClient(
            endpoint: AgentEndpoint(socketPath: agent.socketPath, agentID: agent.agentID, keyring: keyring),
            logger: logger
        )
        // The agent's spans are children of this dispatch span, not of the web tier's request.
        let trace =
            TracePropagation.current() ?? job.traceParent.flatMap { TraceContext(traceparent: $0) }
            ?? TraceContext.random()
        let progress = ProgressRecorder(job: job, runner: self, logger: logger)
        defer { progress.finish() }
        do {
            let result = try await client.withSession { session in
                var params = job.syncParams(attempt: job.attempts)
                let earlier = job.rescued ? job.attempts : job.attempts - 1
                if earlier >= 1,
                    let status = try? await session.status(jobID: job.agentJobID(attempt: earlier))
                {
                    logger.info(
                        "earlier attempt found on the agent",
                        metadata: ["agent.job.state": "\(status.state)"]
                    )
                    switch status.state {
                    case .succeeded: if let result = status.result { return result }
                    case .accepted, .running: params = job.syncParams(attempt: earlier)
                    case .failed, .cancelled, .interrupted:
                        if job.cancelRequested { throw Self.canceledBeforeSending }
                    }
                } else if job.cancelRequested {
                    throw Self.canceledBeforeSending
                }
                return try await session.sync(params, trace: trace, onCancellation: .abandon) { update in
                    progress.note(update)
                }
            }
            await progress.drain()
            return .success(result)
        } catch let error as RPCError {
            await progress.drain()
            return .failure(DispatchFailure(error))
        } catch  where Task.isCancelled {
            return nil
        } catch {
            await progress.drain()
            return .failure(.agentUnreachable(error, socket: agent.socketPath))
        }
    }

    /// A cancel requested before this attempt reached the agent: the sync is not sent.
    private static let canceledBeforeSending = RPCError(
        .cancelled,
        "the rollback was canceled before its sync reached the agent; nothing was changed"
    )

    /// Renews the lease and extends the project lock every third of the lease while `body` runs,
    /// and passes a cancel requested meanwhile on to the agent (once). A cancel's notification
    /// brings the next renewal forward, so the agent hears of it at once, not a heartbeat later.
    private func withHeartbeat<T: Sendable>(
        _ job: ClaimedJob,
        agent: AgentAddress,
        logger: Logger,
        _ body: () async -> T
    ) async -> T {
        let beat = Task {
            await changes.withCancels(of: job.id) { cancels in
                await heartbeat(job, agent: agent, cancels: cancels, logger: logger)
            }
        }
        defer { beat.cancel() }
        return await body()
    }

    private func heartbeat(
        _ job: ClaimedJob,
        agent: AgentAddress,
        cancels: Mailbox<UUID>,
        logger: Logger
    ) async {
        let period = Duration.seconds(settings.leaseSeconds) / 3
        var cancelRelayed = false
        while !Task.isCancelled {
            _ = await cancels.take(within: period)
            if Task.isCancelled { return }
            do {
                let renewal = try await queue.renew(
                    job,
                    owner: settings.owner,
                    leaseSeconds: settings.leaseSeconds
                )
                if renewal == .lost {
                    logger.warning("lease lost; the outcome will not be written by this dispatcher")
                }
                if renewal == .held(cancelRequested: true), !cancelRelayed {
                    cancelRelayed = await relayCancel(job, agent: agent, logger: logger)
                }
                _ = try await lock.extend(
                    project: job.projectID,
                    epoch: job.epoch,
                    ttlSeconds: settings.lockTTLSeconds
                )
            } catch {
                logger.warning("heartbeat failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Asks the agent to stop the job's current attempt. True once the agent has answered.
    private func relayCancel(_ job: ClaimedJob, agent: AgentAddress, logger: Logger) async -> Bool {
        let client = AgentClient(
            endpoint: AgentEndpoint(socketPath: agent.socketPath, agentID: agent.agentID, keyring: keyring),
            logger: logger
        )
        do {
            let answer = try await client.cancel(
                jobID: job.agentJobID(attempt: job.attempts),
                reason: "canceled"
            )
            logger.notice("cancel passed on to the agent", metadata: ["agent.willStop": "\(answer.willStop)"])
            return true
        } catch {
            logger.warning("cannot pass the cancel on to the agent yet", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// Stores a progress update and publishes its event.
    fileprivate func store(_ update: JobProgress.Params, job: ClaimedJob) async {
        let payload = RollbackProgressEvent(
            projectID: job.projectID,
            jobID: job.idText,
            rollbackVersionID: job.versionID,
            percent: update.percent,
            phase: update.phase.rawValue,
            bytesDone: update.bytesDone,
            bytesTotal: update.bytesTotal
        )
        do {
            if let event = try await queue.recordProgress(
                job,
                owner: settings.owner,
                percent: update.percent,
                phase: update.phase.rawValue,
                payload: String(decoding: BrokerJSON.encode(payload), as: UTF8.self)
            ) {
                await publisher.publish([event])
            }
        } catch {
            logger.debug("progress not stored", metadata: ["error": "\(error)"])
        }
    }
}

/// Takes the agent's progress notifications (delivered synchronously on the connection's read
/// loop) and stores them in order from one task, at most every `progressInterval` and on each
/// phase change; the last one is always stored before the outcome.
private final class ProgressRecorder: Sendable {
    private let continuation: AsyncStream<JobProgress.Params>.Continuation
    private let task: Task<Void, Never>

    init(job: ClaimedJob, runner: JobRunner, logger: Logger) {
        let (stream, continuation) = AsyncStream.makeStream(of: JobProgress.Params.self)
        self.continuation = continuation
        let interval = runner.settings.progressInterval
        task = Task {
            var lastStored: (at: ContinuousClock.Instant, phase: SyncPhase)?
            var pending: JobProgress.Params?
            for await update in stream {
                let now = ContinuousClock.now
                if let last = lastStored, last.phase == update.phase, now - last.at < interval,
                    update.percent < 100
                {
                    pending = update
                    continue
                }
                await runner.store(update, job: job)
                lastStored = (now, update.phase)
                pending = nil
            }
            if let pending { await runner.store(pending, job: job) }
        }
    }

    func note(_ update: JobProgress.Params) { continuation.yield(update) }

    /// Waits until every update noted so far is stored.
    func drain() async {
        continuation.finish()
        await task.value
    }

    func finish() { continuation.finish() }
}
