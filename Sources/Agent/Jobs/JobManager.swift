import Logging
import NIOPosix
import RollbackProtocol
import RollbackRuntime
import Synchronization
import Tracing

/// Owns every job of this agent: admission (epochs, one sync per project, capacity), the running
/// tasks, their durable records, cancellation, and recovery after a crash.
///
/// Jobs run in tasks of their own, not in the request that started them, so a client that
/// disconnects does not stop a sync; it reconnects and asks `job.status`.
public actor JobManager {
    private struct RunningJob {
        let task: Task<Result<WorkdirSync.Result, RPCError>, Never>
        let cancellation: CancellationState
        let broadcaster: ProgressBroadcaster

        /// Cancels the job if it has not reached its swap (also interrupting a download).
        /// Returns whether it will stop without changing anything.
        func cancel() -> Bool {
            let willStop = cancellation.requestCancel()
            if willStop { task.cancel() }
            return willStop
        }
    }

    private let settings: SyncSettings
    private let store: StateStore
    private let artifacts: ArtifactStore
    private let maxConcurrentJobs: Int
    private let logger: Logger
    private var records: [String: JobRecord] = [:]
    private var running: [String: RunningJob] = [:]
    private var busyProjects: [String: String] = [:]
    /// Per project, the clean-up after its last sync (see `TreeCleanup`).
    private var cleanups: [String: Task<Void, Never>] = [:]
    /// Orders the CRC cache writes of syncs and clean-ups.
    private let cacheWrites = ChecksumCacheWrites()
    /// Keeps large working directories' listings between syncs.
    private let treeWatch: TreeWatch
    /// Syncs (not dry runs) running now: clean-ups give way to them.
    private let activeSyncs = ActiveSyncs()
    private var epochs: [String: Int64]

    init(
        settings: SyncSettings,
        store: StateStore,
        artifacts: ArtifactStore,
        maxConcurrentJobs: Int,
        treeWatch: TreeWatch,
        logger: Logger
    ) {
        self.treeWatch = treeWatch
        self.settings = settings
        self.store = store
        self.artifacts = artifacts
        self.maxConcurrentJobs = maxConcurrentJobs
        self.logger = logger
        self.epochs = store.epochs()
        for record in store.allJobs() { records[record.params.jobID] = record }
    }

    public var runningJobCount: Int { running.count }

    // MARK: workdir.sync

    /// Starts the job (or attaches to it, or returns its stored outcome when it already ended)
    /// and waits for its result, forwarding progress to `progress`.
    /// `trace` is the caller's span (the dispatcher's `rollback.dispatch`): the sync's spans are
    /// its children.
    func sync(
        _ params: WorkdirSync.Params,
        trace: TraceContext? = nil,
        progress: @escaping @Sendable (ProgressUpdate) async -> Void
    ) async throws(RPCError) -> WorkdirSync.Result {
        try params.validate()
        let job = try admit(params, trace: trace)
        let (subscription, updates) = job.broadcaster.subscribe()
        let forwarding = Task {
            for await update in updates { await progress(update) }
        }
        let outcome = await withTaskCancellationHandler {
            await job.task.value
        } onCancel: {
            // Cancelling the request cancels the job (before the swap; after it the job finishes).
            _ = job.cancel()
        }
        job.broadcaster.unsubscribe(subscription)
        await forwarding.value  // every progress update goes out before the final response
        return try outcome.get()
    }

    private func admit(_ params: WorkdirSync.Params, trace: TraceContext?) throws(RPCError) -> RunningJob {
        if let job = running[params.jobID] {
            guard records[params.jobID]?.params == params else { throw reusedJobID(params.jobID) }
            return job
        }
        if let record = records[params.jobID] {
            guard record.params == params else { throw reusedJobID(params.jobID) }
            return finished(record)
        }
        // A dry run writes nothing, so it is not fenced: it neither meets nor moves the epoch.
        if !params.dryRun, let highest = epochs[params.projectID], params.epoch < highest {
            throw RPCError(
                .staleEpoch,
                "epoch \(params.epoch) is older than epoch \(highest) already seen for project \(params.projectID)",
                details: ["projectID": params.projectID, "highestEpoch": String(highest)]
            )
        }
        if let other = busyProjects[params.projectID] {
            throw RPCError(
                .busy,
                "project \(params.projectID) is already syncing job \(other)",
                details: ["runningJob": other]
            )
        }
        guard running.count < maxConcurrentJobs else {
            throw RPCError(
                .busy,
                "\(running.count) syncs are running; the limit is \(maxConcurrentJobs)",
                details: ["reason": "capacity"]
            )
        }
        let record = JobRecord(params: params, state: .accepted, phase: .accepted, percent: 0)
        do {
            // The epoch is the fence and must survive a power cut; the job record need not (the
            // journal and the tag tell recovery what happened), so it skips the fsync, which after
            // a sync of thousands of files would wait for the file system's journal.
            if !params.dryRun {
                epochs[params.projectID] = max(epochs[params.projectID] ?? 0, params.epoch)
                try store.saveEpochs(epochs)
            }
            // A dry run leaves the state directory as it was: its record lives in memory only.
            if !params.dryRun { try store.saveJob(record, durable: false) }
        } catch {
            throw RPCError(
                .unavailable,
                "the agent cannot write its state directory: \(error)",
                details: ["reason": "disk"]
            )
        }
        records[params.jobID] = record
        busyProjects[params.projectID] = params.jobID

        let cancellation = CancellationState()
        let broadcaster = ProgressBroadcaster()
        var jobLogger = logger
        jobLogger[metadataKey: "job.id"] = "\(params.jobID)"
        jobLogger[metadataKey: "project.id"] = "\(params.projectID)"
        let reporter = ProgressReporter { [weak self] update in
            broadcaster.publish(update)
            Task { await self?.noteProgress(params.jobID, update) }
        }
        let job = SyncJob(
            params: params,
            settings: settings,
            store: store,
            artifacts: artifacts,
            cancellation: cancellation,
            progress: reporter,
            cacheWrites: cacheWrites,
            treeWatch: treeWatch,
            // A dry run writes no cache, so it leaves the last clean-up's refresh valid.
            cacheGeneration: params.dryRun ? 0 : cacheWrites.begin(params.projectID)
        )
        let logger = jobLogger
        let activeSyncs = self.activeSyncs
        let task = Task<Result<WorkdirSync.Result, RPCError>, Never> {
            if !params.dryRun { activeSyncs.add(1) }
            defer { if !params.dryRun { activeSyncs.add(-1) } }
            // The project's last clean-up may still be deleting the old tree: this sync does not
            // wait for it (it never touches the working directory, `.git` or a newer cache).
            // One span for the sync, a child of the caller's (SyncJob adds one per phase); what
            // is logged inside it carries the trace id.
            return await withSpan(
                "rollback.agent.sync",
                context: TracePropagation.context(from: trace),
                ofKind: .server
            ) { span -> Result<WorkdirSync.Result, RPCError> in
                span.attributes["rollback.job.id"] = params.jobID
                span.attributes["rollback.project.id"] = params.projectID
                span.attributes["rollback.dry_run"] = params.dryRun
                logger.info(
                    "sync started",
                    metadata: ["epoch": "\(params.epoch)", "dryRun": "\(params.dryRun)"]
                )
                let started = ContinuousClock.now
                let outcome: Result<WorkdirSync.Result, RPCError>
                do throws(RPCError) {
                    let (result, cleanup) = try await job.run()
                    if var cleanup {
                        cleanup.syncRunning = { activeSyncs.count > 0 }
                        self.scheduleCleanup(cleanup, projectID: params.projectID)
                    }
                    outcome = .success(result)
                } catch {
                    span.setStatus(SpanStatus(code: .error, message: error.code.name))
                    outcome = .failure(error)
                }
                SyncMetrics.recordOutcome(outcome, duration: ContinuousClock.now - started)
                self.finish(params.jobID, outcome)
                return outcome
            }
        }
        let runningJob = RunningJob(task: task, cancellation: cancellation, broadcaster: broadcaster)
        running[params.jobID] = runningJob
        return runningJob
    }

    /// Runs `cleanup` on the thread pool after the project's previous one.
    private func scheduleCleanup(_ cleanup: TreeCleanup, projectID: String) {
        let previous = cleanups[projectID]
        cleanups[projectID] = Task {
            await previous?.value
            _ = try? await NIOThreadPool.singleton.runIfActive { cleanup.perform() }
        }
    }

    private func finished(_ record: JobRecord) -> RunningJob {
        let outcome: Result<WorkdirSync.Result, RPCError> =
            if let result = record.result {
                .success(result)
            } else {
                .failure(
                    record.error.map(RPCError.init(failure:))
                        ?? RPCError(.internalError, "job \(record.params.jobID) ended without a result")
                )
            }
        return RunningJob(
            task: Task { outcome },
            cancellation: CancellationState(),
            broadcaster: ProgressBroadcaster()
        )
    }

    private func reusedJobID(_ jobID: String) -> RPCError {
        RPCError(
            .invalidParams,
            "job id \(jobID) was already used with different params",
            details: ["field": "jobID"]
        )
    }

    private func noteProgress(_ jobID: String, _ update: ProgressUpdate) {
        guard var record = records[jobID], !record.state.isTerminal else { return }
        let phaseChanged = record.phase != update.phase
        record.state = .running
        record.phase = update.phase
        record.percent = max(record.percent, update.percent)
        records[jobID] = record
        if phaseChanged && !record.params.dryRun { try? store.saveJob(record, durable: false) }
    }

    private func finish(_ jobID: String, _ outcome: Result<WorkdirSync.Result, RPCError>) {
        guard var record = records[jobID] else { return }
        switch outcome {
        case .success(let result):
            record.state = .succeeded
            record.phase = .done
            record.percent = 100
            record.result = result
            logger.info(
                "sync succeeded",
                metadata: ["job.id": "\(jobID)", "commit": "\(result.commitID ?? "-")"]
            )
        case .failure(let error):
            record.state = error.code == .cancelled ? .cancelled : .failed
            record.error = JobFailure(error)
            logger.warning("sync failed", metadata: ["job.id": "\(jobID)", "error": "\(error)"])
        }
        records[jobID] = record
        if !record.params.dryRun { try? store.saveJob(record, durable: false) }
        running[jobID] = nil
        if busyProjects[record.params.projectID] == jobID { busyProjects[record.params.projectID] = nil }
    }

    // MARK: job.status, job.cancel

    func status(_ jobID: String) throws(RPCError) -> JobStatus.Result {
        guard let record = records[jobID] else {
            throw RPCError(.notFound, "no job \(jobID) on this agent", details: ["jobID": jobID])
        }
        return record.status
    }

    func cancel(_ jobID: String) throws(RPCError) -> JobCancel.Result {
        guard let record = records[jobID] else {
            throw RPCError(.notFound, "no job \(jobID) on this agent", details: ["jobID": jobID])
        }
        guard let job = running[jobID] else {
            return JobCancel.Result(jobID: jobID, willStop: false, state: record.state)
        }
        return JobCancel.Result(jobID: jobID, willStop: job.cancel(), state: record.state)
    }

    /// Cancels every running job that has not reached its swap; the others finish.
    func cancelRunning(reason: String) {
        for (jobID, job) in running where job.cancel() {
            logger.warning("cancelling sync", metadata: ["job.id": "\(jobID)", "reason": "\(reason)"])
        }
    }

    /// Waits until no job runs.
    func waitUntilIdle() async {
        for job in running.values { _ = await job.task.value }
        for cleanup in cleanups.values { await cleanup.value }
    }

    // MARK: Recovery

    /// Finishes or undoes swaps interrupted by a crash, removes staging and temporary files, and
    /// marks jobs that were running as interrupted. Call once, before serving.
    func recover() async {
        for projectID in store.interruptedCleanups() {
            // The clean-up after an answer was writing this project's index when the agent
            // stopped: a lock left there is its own.
            GitRepository.removeCrashLeftovers(gitDirectory: "\(settings.workingDirectory(projectID))/.git")
            unlink(store.cleanupMarker(projectID: projectID))
            logger.warning(
                "recovery removed the git locks of an interrupted clean-up",
                metadata: ["project.id": "\(projectID)"]
            )
        }
        for journal in store.journals() {
            let exchanged =
                journal.inPlace == nil
                ? FileSystem.info(journal.workingDirectory).map { UInt64($0.inode) } == journal.stagingInode
                : journal.step == .swapped
            var jobLogger = logger
            jobLogger[metadataKey: "job.id"] = "\(journal.jobID)"
            jobLogger[metadataKey: "project.id"] = "\(journal.projectID)"
            // The journal proves this agent was inside the swap or the commit when it stopped, so
            // git lock files left in the project's repository are its own and stale: without
            // removing them, finishing (or undoing) the commit fails on "index is locked".
            for directory in [journal.workingDirectory, journal.staging] {
                GitRepository.removeCrashLeftovers(gitDirectory: "\(directory)/.git")
            }
            if exchanged {
                // The new tree is live: finish the commit and the clean-up.
                let settings = self.settings
                let store = self.store
                let commit = await Result { () async throws(RPCError) -> String in
                    try await onThreadPool { () throws(RPCError) in
                        try SyncJob.commit(journal, files: nil, settings: settings, store: store).commitID
                    }
                }
                if var record = records[journal.jobID] {
                    switch commit {
                    case .success(let commitID):
                        record.state = .succeeded
                        record.phase = .done
                        record.percent = 100
                        record.result = WorkdirSync.Result(
                            jobID: journal.jobID,
                            state: .succeeded,
                            commitID: commitID,
                            tag: journal.tag,
                            files: .init(added: 0, changed: 0, removed: 0, unchanged: 0),
                            bytesWritten: 0,
                            phaseMilliseconds: ["recovered": 0]
                        )
                    case .failure(let error):
                        record.state = .interrupted
                        record.error = JobFailure(error)
                    }
                    records[journal.jobID] = record
                    try? store.saveJob(record)
                }
                jobLogger.warning("recovery finished an interrupted swap", metadata: ["outcome": "\(commit)"])
            } else if let inPlace = journal.inPlace {
                // Some of the changes may have been applied: take them all back.
                do {
                    try await onThreadPool { () throws(RPCError) in
                        do {
                            try InPlaceApply.undo(
                                inPlace,
                                work: journal.workingDirectory,
                                staging: journal.staging
                            )
                        } catch {
                            throw RPCError(.internalError, "\(error)")
                        }
                    }
                    store.removeJournal(projectID: journal.projectID)
                    jobLogger.warning(
                        "recovery undid interrupted in-place changes; the working directory is unchanged"
                    )
                } catch {
                    jobLogger.error(
                        "recovery could not undo interrupted in-place changes; it retries at the next start",
                        metadata: ["error": "\(error)"]
                    )
                }
            } else {
                // The old tree is still live: put .git back if it had moved, drop the staging tree.
                if !FileSystem.exists("\(journal.workingDirectory)/.git"),
                    FileSystem.exists("\(journal.staging)/.git")
                {
                    try? FileSystem.rename("\(journal.staging)/.git", "\(journal.workingDirectory)/.git")
                }
                try? FileSystem.removeTree(journal.staging)
                store.removeJournal(projectID: journal.projectID)
                jobLogger.warning("recovery undid an interrupted swap; the working directory is unchanged")
            }
        }
        for (jobID, var record) in records where !record.state.isTerminal {
            // The journal is removed just before the job's record says it succeeded; a crash in
            // between leaves a committed, tagged tree. The tag tells.
            let work = settings.workingDirectory(record.params.projectID)
            let tag = "rollback/\(record.params.rollbackVersionID)"
            let committed: String? = await onThreadPoolOptional {
                guard FileSystem.exists("\(work)/.git"), let repository = try? GitRepository(workTree: work),
                    repository.hasTag(tag)
                else { return nil }
                return repository.headCommitID()
            }
            if let committed, !record.params.dryRun {
                record.state = .succeeded
                record.phase = .done
                record.percent = 100
                record.result = WorkdirSync.Result(
                    jobID: jobID,
                    state: .succeeded,
                    commitID: committed,
                    tag: tag,
                    files: .init(added: 0, changed: 0, removed: 0, unchanged: 0),
                    bytesWritten: 0,
                    phaseMilliseconds: ["recovered": 0]
                )
            } else {
                record.state = .interrupted
                record.error = JobFailure(
                    RPCError(
                        .internalError,
                        "the agent stopped while this job ran; the working directory was left unchanged",
                        details: ["reason": "interrupted"]
                    )
                )
            }
            records[jobID] = record
            try? store.saveJob(record)
        }
        do {
            try FileSystem.removeTree(settings.stagingRoot)
        } catch {
            logger.error("could not remove leftover staging trees", metadata: ["error": "\(error)"])
        }
        store.cleanTemporaryFiles()
    }
}

/// Blocking work on the thread pool, for code paths that only need an optional answer.
private func onThreadPoolOptional<T: Sendable>(_ work: @escaping @Sendable () -> T?) async -> T? {
    (try? await NIOThreadPool.singleton.runIfActive { work() }) ?? nil
}

extension RPCError {
    init(failure: JobFailure) {
        self.init(
            .from(
                rawValue: RPCErrorCode.all.first { $0.name == failure.name }?.rawValue ?? -32603,
                name: failure.name,
                retryable: failure.retryable
            ),
            failure.message,
            details: failure.details
        )
    }
}

extension Result where Failure == RPCError {
    init(catching body: () async throws(RPCError) -> Success) async {
        do throws(RPCError) {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }
}

/// How many syncs run right now.
final class ActiveSyncs: Sendable {
    private let value = Atomic<Int>(0)
    var count: Int { value.load(ordering: .relaxed) }
    func add(_ delta: Int) { value.add(delta, ordering: .relaxed) }
}
