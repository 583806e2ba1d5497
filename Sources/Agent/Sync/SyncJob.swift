import Dispatch
import NIOPosix
import RollbackArchive
import RollbackProtocol
import Tracing

/// One `workdir.sync`, phase by phase: download and verify, extract into staging, swap, commit
/// and tag. Two ways to swap: a small change (at most a quarter of the files) is applied in
/// place under an undo journal, only the changed files written and moved (`SyncJob+InPlace`);
/// anything else builds the whole new tree in staging (unchanged files hard-linked) and
/// exchanges the trees atomically. Nothing touches the working directory before the swap; a
/// failure or cancel before it removes the staging tree and changes nothing.
struct SyncJob: Sendable {
    let params: WorkdirSync.Params
    let settings: SyncSettings
    let store: StateStore
    let artifacts: ArtifactStore
    let cancellation: CancellationState
    let progress: ProgressReporter
    /// Orders this project's CRC cache writes (see `ChecksumCacheWrites`).
    let cacheWrites: ChecksumCacheWrites
    /// Keeps large working directories' listings between syncs.
    let treeWatch: TreeWatch
    /// This sync's generation of them.
    let cacheGeneration: UInt64

    /// Runs the sync. The cleanup, when there is one, is for the caller to run after answering.
    func run() async throws(RPCError) -> (WorkdirSync.Result, TreeCleanup?) {
        let clock = ContinuousClock()
        var phaseMilliseconds: [String: Int64] = [:]
        var phaseStart = clock.now
        var phaseStartWall = DefaultTracerClock.now
        let parent = ServiceContext.current ?? .topLevel
        func finish(_ phase: SyncPhase) {
            // A span per phase, under the sync's span, timed as the metrics are.
            let span = startSpan("rollback.agent.\(phase.rawValue)", context: parent, at: phaseStartWall)
            let now = DefaultTracerClock.now
            span.end(at: now)
            phaseStartWall = now
            let elapsed = clock.now - phaseStart
            SyncMetrics.recordPhase(
                phase.rawValue,
                milliseconds: elapsed.components.seconds * 1000 + elapsed.components.attoseconds
                    / 1_000_000_000_000_000
            )
            phaseMilliseconds[phase.rawValue] =
                elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
            phaseStart = clock.now
        }

        progress.report(.accepted)
        try cancellation.checkpoint()

        // 1–2. Download while hashing; verify size and SHA-256 before anything else.
        let total = params.artifact.sizeBytes
        guard total <= settings.maxArtifactBytes else {
            throw RPCError(
                .artifactRejected,
                "the artifact's declared size \(total) exceeds the limit of \(settings.maxArtifactBytes) bytes",
                details: ["reason": "artifact_too_large"]
            )
        }
        progress.report(.downloading, bytesDone: 0, bytesTotal: total)
        let work = settings.workingDirectory(params.projectID)
        // Listed while the artifact downloads (a dry run compares on its own, later).
        let checksumFile = store.checksumFile(projectID: params.projectID)
        let firstScan =
            params.dryRun
            ? nil
            : WorkTreeScan(
                work: work,
                checksumFile: checksumFile,
                projectID: params.projectID,
                watch: treeWatch
            )
        let reporter = progress
        let wasCached = artifacts.isCached(params.artifact)
        let fetched = try await artifacts.fetch(
            params.artifact,
            jobID: params.jobID,
            keep: !params.dryRun
        ) { done in
            reporter.report(
                .downloading,
                fraction: Double(done) / Double(max(total, 1)),
                bytesDone: done,
                bytesTotal: total
            )
        }
        finish(.downloading)
        // After a slow download the listing is listed again (beside the archive's reading): files
        // are judged by their stat data, which must not be older than the download.
        let scan = firstScan?.renewed()
        SyncMetrics.recordFetch(fromCache: fetched.fromCache, bytes: total)
        progress.report(
            .verifying,
            fraction: 1,
            bytesDone: total,
            bytesTotal: total,
            message: fetched.fromCache ? "from cache" : nil
        )
        if params.dryRun {
            let archivePath = try await onThreadPool { () throws(RPCError) in try fetched.check.wait() }
            finish(.verifying)
            // A dry run leaves the state directory as it found it: a download was not cached.
            defer { if !fetched.fromCache { unlink(archivePath) } }
            return (
                try await preview(
                    archivePath: archivePath,
                    phaseMilliseconds: phaseMilliseconds,
                    wasCached: wasCached
                ), nil
            )
        }
        // The hash runs on beside the reading of the archive (`ArtifactCheck`): its remainder
        // counts towards extracting, which waits for it before writing anything.
        finish(.verifying)
        try cancellation.checkpoint()

        // 3–4. Extract into staging beside the working directory: only the changed files when
        // the change is small enough to apply in place, else the whole new tree.
        let staging = settings.staging(projectID: params.projectID, jobID: params.jobID)
        let outcome: TreeExtractor.Outcome
        let inPlace: InPlaceChanges?
        let retainedFromPreparing: [any Sendable]
        do {
            let prepared = try await onThreadPool {
                [self] () throws(RPCError) -> (InPlaceChanges?, TreeExtractor.Outcome, [any Sendable]) in
                let preparation: Preparation
                do throws(RPCError) {
                    preparation = try prepareInPlace(
                        archivePath: fetched.path,
                        work: work,
                        staging: staging,
                        scan: scan,
                        check: fetched.check
                    )
                } catch {
                    // Read before it was checked: a wrong checksum is the failure to report.
                    _ = try fetched.check.wait()
                    throw error
                }
                switch preparation {
                case .inPlace(let changes, let outcome, let retained):
                    return (changes, outcome, retained)
                case .wholeTree(let plan, let existing):
                    let outcome = try extract(
                        archivePath: try fetched.check.wait(),
                        plan: plan,
                        existing: existing,
                        work: work,
                        staging: staging
                    )
                    return (nil, outcome, [])
                }
            }
            (inPlace, outcome, retainedFromPreparing) = prepared
        } catch {
            try? FileSystem.removeTree(staging)
            try? FileSystem.removeTree(settings.objectStore(projectID: params.projectID, jobID: params.jobID))
            throw error
        }
        finish(.extracting)

        // 5. The point of no return: a cancel from here on is reported, not obeyed.
        await CrashPoints.pause("before-point-of-no-return")
        do {
            try cancellation.commit()
        } catch {
            try? FileSystem.removeTree(staging)
            try? FileSystem.removeTree(settings.objectStore(projectID: params.projectID, jobID: params.jobID))
            throw error
        }
        await CrashPoints.pause("after-point-of-no-return")
        progress.report(.swapping)
        let tag = "rollback/\(params.rollbackVersionID)"
        let journal = SwapJournal(
            projectID: params.projectID,
            jobID: params.jobID,
            step: .swapping,
            workingDirectory: work,
            staging: staging,
            stagingInode: UInt64(FileSystem.info(staging)?.inode ?? 0),
            commitMessage: commitMessage(),
            tag: tag,
            inPlace: inPlace
        )
        try await onThreadPool { () throws(RPCError) in
            if let inPlace {
                try Self.applyInPlace(
                    journal,
                    inPlace,
                    objectStore: settings.objectStore(projectID: params.projectID, jobID: params.jobID),
                    store: store
                )
            } else {
                try Self.swap(journal, store: store)
            }
        }
        finish(.swapping)

        // 6. Commit the whole tree and tag it.
        progress.report(.committing)
        let files = outcome.files
        let treePaths = inPlace.map { _ in
            InPlaceTreePaths(parts: [outcome.unchanged, outcome.added, outcome.changed])
        }
        if inPlace == nil { treeWatch.forget(params.projectID) }  // a new tree: watched afresh
        let committed = try await onThreadPool { [settings] () throws(RPCError) in
            // In place, the commit reuses the repository the scan opened, its index already
            // read (the scan is complete: the in-place preparation waited for it).
            let scanned = inPlace == nil ? nil : (try? scan?.wait())?.index
            return try Self.commit(
                journal,
                files: files,
                treePaths: treePaths,
                settings: settings,
                store: store,
                repository: scanned?.repository
            )
        }
        // The CRC cache as of now, before answering: the next sync trusts it at once.
        _ = try? await onThreadPool { [self] in
            if inPlace == nil {
                // The new tree is listed once, now: the cache takes its stat data, and the watch
                // (for a tree large enough) keeps the listing for the next sync.
                let listing = try? treeWatch.listing(
                    projectID: params.projectID,
                    root: work,
                    expectedFiles: outcome.crcs.count
                )
                cacheWrites.save(
                    listing.map { ChecksumCache.stamped(outcome.crcs, from: $0.files) }
                        ?? ChecksumCache.stamped(outcome.crcs, in: work),
                    to: checksumFile,
                    projectID: params.projectID,
                    generation: cacheGeneration
                )
            } else {
                cacheWrites.append(
                    outcome.crcs,
                    in: work,
                    to: checksumFile,
                    projectID: params.projectID,
                    generation: cacheGeneration
                )
            }
        }
        finish(.committing)
        progress.report(.done, fraction: 1)
        // Files linked from the old tree get a new ctime when it is deleted: refreshed after.
        let unchanged = Set(inPlace == nil ? outcome.unchanged : [])
        let linked = outcome.crcs.filter { unchanged.contains($0.key) }
        var cleanup = TreeCleanup(
            trash: committed.trash,
            workingDirectory: work,
            refresh: linked,
            checksumFile: checksumFile,
            projectID: params.projectID,
            writes: cacheWrites,
            generation: cacheGeneration,
            watch: inPlace == nil ? treeWatch : nil
        )
        // Freed with the clean-up, after the answer: on a 100,000-file tree, freeing the scan's
        // tables and the outcome's path lists takes tens of milliseconds.
        cleanup.retained = [firstScan, scan, outcome] + retainedFromPreparing
        return (
            result(
                outcome,
                commitID: committed.commitID,
                tag: tag,
                phaseMilliseconds: phaseMilliseconds,
                wasCached: wasCached
            ), cleanup
        )
    }

    /// The dry run's answer: what the sync would change, compared without writing anything.
    private func preview(
        archivePath: String,
        phaseMilliseconds: [String: Int64],
        wasCached: Bool
    ) async throws(RPCError) -> WorkdirSync.Result {
        let work = settings.workingDirectory(params.projectID)
        let cancellation = self.cancellation
        let checksumFile = store.checksumFile(projectID: params.projectID)
        let limits = settings.archiveLimits
        let selection = self.selection
        let diff = try await onThreadPool { () throws(RPCError) -> TreeComparer.Diff in
            do {
                let archive = try ZipArchive(path: archivePath)
                let whole = try ArchivePlan(archive: archive, limits: limits)
                let comparer = TreeComparer(
                    plan: selection.map(whole.selecting) ?? whole,
                    archive: { archive },
                    current: FileSystem.info(work)?.kind == .directory ? work : nil,
                    checksums: ChecksumCache.load(from: checksumFile),
                    selection: selection
                )
                // No change limit, so never nil.
                return try comparer.run(checkCancelled: { try cancellation.checkpoint() })
                    ?? TreeComparer.Diff()
            } catch {
                throw Self.rpcError(error, doing: "comparing the trees")
            }
        }
        progress.report(.done, fraction: 1)
        let limit = params.diffLimit ?? Int.max
        return WorkdirSync.Result(
            jobID: params.jobID,
            state: .succeeded,
            commitID: nil,
            tag: nil,
            files: .init(
                added: diff.added.count,
                changed: diff.changed.count,
                removed: diff.removed.count,
                unchanged: diff.unchanged
            ),
            bytesWritten: diff.bytesToWrite,
            phaseMilliseconds: phaseMilliseconds,
            diff: [
                "added": Array(diff.added.prefix(limit)), "changed": Array(diff.changed.prefix(limit)),
                "removed": Array(diff.removed.prefix(limit)),
            ],
            artifactCached: wasCached
        )
    }

    /// Builds the whole new tree in staging. `plan` and `existing` (the working directory's
    /// files) come from `prepareInPlace`, which read them before deciding against it.
    func extract(
        archivePath: String,
        plan: ArchivePlan,
        existing: [String: FileSystem.Info]?,
        work: String,
        staging: String
    ) throws(RPCError) -> TreeExtractor.Outcome {
        do {
            try FileSystem.makeDirectories(settings.stagingRoot, mode: 0o700)
            try FileSystem.removeTree(staging)
            try FileSystem.removeTree(settings.objectStore(projectID: params.projectID, jobID: params.jobID))
            let current = FileSystem.info(work)?.kind == .directory ? work : nil
            // Blobs go into the project's repository as files are extracted (into a new one in
            // the staging tree when the project has none).
            let repository: String? = current.map { FileSystem.exists("\($0)/.git") } == true ? work : staging
            var extractor = TreeExtractor(
                archivePath: archivePath,
                plan: plan,
                staging: staging,
                current: current,
                repository: repository,
                objectStore: settings.objectStore(projectID: params.projectID, jobID: params.jobID),
                checksums: ChecksumCache.load(from: store.checksumFile(projectID: params.projectID))
            )
            extractor.selection = selection
            extractor.existing = existing
            return try runReporting(extractor, entries: "entries")
        } catch {
            throw Self.rpcError(error, doing: "extracting")
        }
    }

    /// Runs `extractor` with the sync's progress (`done of total <entries>`) and cancellation.
    func runReporting(_ extractor: TreeExtractor, entries: String) throws -> TreeExtractor.Outcome {
        let reporter = progress
        let cancellation = self.cancellation
        return try extractor.run(
            progress: { done, total in
                reporter.report(
                    .extracting,
                    fraction: Double(done) / Double(max(total, 1)),
                    message: "\(done) of \(total) \(entries)"
                )
            },
            checkCancelled: { try cancellation.checkpoint() }
        )
    }

    /// What a failure while reading the archive or writing the tree tells the caller: the
    /// archive's own refusal, an RPC error as it is, anything else a disk problem.
    static func rpcError(_ error: any Error, doing activity: String) -> RPCError {
        switch error {
        case let error as ArchiveError: error.rpcError
        case let error as RPCError: error
        default: RPCError(.unavailable, "\(activity) failed: \(error)", details: ["reason": "disk"])
        }
    }

    /// Moves `.git` into the staging tree and exchanges the trees, journalled for recovery.
    static func swap(_ journal: SwapJournal, store: StateStore) throws(RPCError) {
        let work = journal.workingDirectory
        var movedGit = false
        do {
            try store.saveJournal(journal)
            if FileSystem.info(work) == nil { try FileSystem.makeDirectory(work, mode: 0o755) }
            FileSystem.syncFileSystem(containing: journal.staging)
            CrashPoints.hit("before-git-move")
            if FileSystem.exists("\(work)/.git") {
                try FileSystem.rename("\(work)/.git", "\(journal.staging)/.git")
                movedGit = true
            }
            CrashPoints.hit("after-git-move")
            try FileSystem.exchange(journal.staging, work)
            CrashPoints.hit("after-exchange")
            var swapped = journal
            swapped.step = .swapped
            try store.saveJournal(swapped)
        } catch {
            // Nothing was exchanged (the exchange is the last step that can fail before the
            // journal says so): put .git back and drop the staging tree.
            if movedGit, FileSystem.info(work).map({ UInt64($0.inode) }) != journal.stagingInode {
                try? FileSystem.rename("\(journal.staging)/.git", "\(work)/.git")
                try? FileSystem.removeTree(journal.staging)
                store.removeJournal(projectID: journal.projectID)
            }
            throw RPCError(
                .unavailable,
                "the swap failed and was undone: \(error)",
                details: ["reason": "swap_failed"]
            )
        }
    }

    /// Swaps back after a failed commit: the old tree and its .git (with the index saved before
    /// the commit) become live again, so a failure never leaves a half-rolled-back project.
    static func undoSwap(_ journal: SwapJournal, savedIndex: String?, store: StateStore) {
        let work = journal.workingDirectory
        if let inPlace = journal.inPlace {
            do {
                try InPlaceApply.undo(inPlace, work: work, staging: journal.staging)
                if let savedIndex { try FileSystem.rename(savedIndex, "\(work)/.git/index") }
                store.removeJournal(projectID: journal.projectID)
            } catch {
                // Leave the journal: recovery at the next start finishes the job instead.
            }
            return
        }
        guard FileSystem.info(work).map({ UInt64($0.inode) }) == journal.stagingInode else { return }
        do {
            try FileSystem.rename("\(work)/.git", "\(journal.staging)/.git")
            try FileSystem.exchange(journal.staging, work)
            if let savedIndex { try FileSystem.rename(savedIndex, "\(work)/.git/index") }
            try? FileSystem.removeTree(journal.staging)
            store.removeJournal(projectID: journal.projectID)
        } catch {
            // Leave the journal: recovery at the next start finishes the job instead.
        }
    }

    /// Commits and tags the new tree, then removes the old one and the journal.
    /// With `files` (blobs written during extraction) nothing is read again; without them
    /// (crash recovery) the work tree is scanned.
    static func commit(
        _ journal: SwapJournal,
        files: [TreeFile]?,
        treePaths: InPlaceTreePaths? = nil,
        settings: SyncSettings,
        store: StateStore,
        repository opened: GitRepository? = nil
    ) throws(RPCError) -> (commitID: String, trash: String?) {
        // The index as it was before this job touched it, for `undoSwap`. After a crash in the
        // middle of the commit, the copy made by the first attempt is the right one: the live
        // index may already hold the new tree's entries.
        let savedIndex = "\(store.temporaryDirectory)/\(journal.jobID).index"
        // A hard link, not a copy (10 MB for 100,000 files): git and libgit2 never write an index
        // in place (they write `index.lock` and rename it), so the linked inode keeps the old one.
        let liveIndex = "\(journal.workingDirectory)/.git/index"
        let hasIndex =
            FileSystem.exists(savedIndex) || link(liveIndex, savedIndex) == 0
            || (try? FileSystem.copyFile(liveIndex, to: savedIndex)) != nil
        do {
            let repository = try opened ?? GitRepository(workTree: journal.workingDirectory)
            // Deleting the old tree after the answer changes the ctime of every file it shared
            // with the new one (hard links). With ctime ignored, the index this commit writes
            // stays true afterwards, so nothing touches `.git` once the answer has been sent.
            try repository.ignoreCtimeInStatData()
            let description = CommitDescription(
                message: journal.commitMessage,
                tag: journal.tag,
                authorName: settings.gitAuthorName,
                authorEmail: settings.gitAuthorEmail
            )
            let commitID: String
            if repository.hasTag(journal.tag), let head = repository.headCommitID() {
                commitID = head  // committed before a crash; recovery only finishes the clean-up
            } else if let files, journal.inPlace == nil || treePaths != nil {
                try GitRepository.adoptObjects(
                    from: settings.objectStore(projectID: journal.projectID, jobID: journal.jobID),
                    into: "\(journal.workingDirectory)/.git/objects"
                )
                if let inPlace = journal.inPlace, let treePaths {
                    // In place, `files` holds only what changes in the index.
                    commitID = try repository.commit(
                        replacing: files,
                        removing: inPlace.removed,
                        treePathCount: treePaths.count,
                        treePaths: treePaths.paths,
                        description
                    )
                } else {
                    commitID = try repository.commit(files: files, description)
                }
            } else {
                commitID = try repository.commitAll(description)
            }
            CrashPoints.hit("after-commit")
            // The old tree is moved aside (one rename) and deleted after the answer (see
            // `TreeCleanup`): unlinking thousands of hard links need not delay it. A crash before
            // the deletion ends is cleaned up at the next start.
            if let inPlace = journal.inPlace {
                // In place, the old files wait in the backup; staging holds empty directories.
                try? FileSystem.removeTree(journal.staging)
                store.removeJournal(projectID: journal.projectID)
                unlink(savedIndex)
                return (commitID, inPlace.backup)
            }
            let trash = "\(journal.staging).old"
            let movedAside = (try? FileSystem.rename(journal.staging, trash)) != nil
            if !movedAside { try? FileSystem.removeTree(journal.staging) }
            store.removeJournal(projectID: journal.projectID)
            unlink(savedIndex)
            return (commitID, movedAside ? trash : nil)
        } catch {
            undoSwap(journal, savedIndex: hasIndex ? savedIndex : nil, store: store)
            throw RPCError(
                .internalError,
                "recording the rollback in git failed: \(error)",
                details: ["reason": "git_failed"]
            )
        }
    }

    /// A selective sync's paths (validated with the params).
    var selection: PathSelection? { params.only.flatMap(PathSelection.init) }

    private func commitMessage() -> String {
        let title =
            params.only.map { "Roll back \($0.joined(separator: ", ")) to version \(params.targetVersionID)" }
            ?? "Roll back to version \(params.targetVersionID)"
        return """
            \(title)

            Rollback version: \(params.rollbackVersionID)
            Target version: \(params.targetVersionID)
            Job: \(params.jobID)
            Epoch: \(params.epoch)
            """
    }

    private func result(
        _ outcome: TreeExtractor.Outcome,
        commitID: String?,
        tag: String?,
        phaseMilliseconds: [String: Int64],
        wasCached: Bool
    ) -> WorkdirSync.Result {
        WorkdirSync.Result(
            jobID: params.jobID,
            state: .succeeded,
            commitID: commitID,
            tag: tag,
            files: .init(
                added: outcome.added.count,
                changed: outcome.changed.count,
                removed: outcome.removed.count,
                unchanged: outcome.unchanged.count
            ),
            bytesWritten: outcome.bytesWritten,
            phaseMilliseconds: phaseMilliseconds,
            cancelIgnored: cancellation.wasIgnored,
            artifactCached: wasCached
        )
    }
}

/// Runs blocking work (libzip, libgit2, file I/O) on NIO's thread pool, never on Swift's
/// cooperative pool.
func onThreadPool<T: Sendable>(
    _ work: @escaping @Sendable () throws(RPCError) -> T
) async throws(RPCError) -> T {
    do {
        return try await NIOThreadPool.singleton.runIfActive { () throws -> T in try work() }
    } catch let error as RPCError {
        throw error
    } catch {
        throw RPCError(.internalError, "\(error)")
    }
}
