import CGit2
import RollbackArchive
import RollbackProtocol

extension SyncJob {
    /// What `prepareInPlace` decided.
    enum Preparation {
        /// The changes, with the new files already in staging; `retained` holds what was read
        /// to decide them, for the caller to free after answering (tens of milliseconds of
        /// freeing at 100,000 files).
        case inPlace(InPlaceChanges, TreeExtractor.Outcome, retained: [any Sendable])
        /// Build the whole tree; the archive's plan and the working directory's files, as read.
        case wholeTree(ArchivePlan, existing: [String: FileSystem.Info]?)
    }

    /// Before the point of no return, decides whether the sync can change the working directory
    /// in place (it has a repository; no path turns between file and directory; at most a
    /// quarter of the files change) and, if so, writes only the added and changed files into
    /// staging (their blobs into the job's object store). The working directory and `.git` are
    /// not touched. Otherwise hands what it read to the whole-tree path. `archivePath` may not
    /// be checked yet: it is only read until `check` has passed.
    func prepareInPlace(
        archivePath: String,
        work: String,
        staging: String,
        scan: WorkTreeScan?,
        check: ArtifactCheck
    ) throws(RPCError) -> Preparation {
        do throws(any Error) {
            // The working directory is being listed on a thread of its own (`WorkTreeScan`, started
            // with the download) while this one reads the archive: neither needs the other.
            // libzip's consistency pass (every local header against the central directory) reads
            // the whole archive's headers: a second a 100,000-file tree. An in-place sync reads
            // only its changed entries (libzip checks their data's CRC); the pass runs when the
            // whole tree is taken after all (`wholeTree`).
            // The plan comes from `ZipDirectory`'s reading of the central directory; libzip opens
            // the archive later, beside the comparison, for the few entries read (libzip alone,
            // for an archive outside that reader's subset).
            let opening = ZipArchiveOpening(path: archivePath)
            let limits = settings.archiveLimits
            let listed = opening.directoryEntries(maxEntries: limits.maxEntries)
            let archive = { () throws(ArchiveError) in try opening.archive(expectingEntries: listed?.count) }
            let whole =
                try listed.map { (entries) throws(ArchiveError) in
                    try ArchivePlan(entries: entries, limits: limits) { (entry) throws(ArchiveError) in
                        try archive().bytes(of: entry)
                    }
                } ?? ArchivePlan(archive: try archive(), limits: limits)
            let plan = selection.map(whole.selecting) ?? whole
            // Every entry is extracted: the archive's local headers are checked first, as ever.
            func wholeTree(existing: [String: FileSystem.Info]?) throws(ArchiveError) -> Preparation {
                try ZipArchive(path: archivePath, checkConsistency: true).expectEntryCount(listed?.count)
                return .wholeTree(plan, existing: existing)
            }
            guard let scan else { return try wholeTree(existing: nil) }
            let (listing, checksums, index) = try scan.wait()
            // The scan's thread is done: libzip opens the archive there while this one compares.
            opening.start()
            let cancellation = self.cancellation
            var comparer = TreeComparer(
                plan: plan,
                archive: archive,
                current: work,
                checksums: checksums,
                selection: selection
            )
            comparer.listUnchanged = true
            guard
                let diff = try comparer.run(
                    existing: listing.files,
                    maxChanges: InPlaceChanges.changeLimit(for: plan),
                    checkCancelled: { try cancellation.checkpoint() }
                ),
                let changes = InPlaceChanges.decide(
                    plan: plan,
                    diff: diff,
                    existingDirectories: listing.directories,
                    existingFiles: listing.files,
                    selection: selection,
                    backup: settings.backup(projectID: params.projectID, jobID: params.jobID)
                )
            else { return try wholeTree(existing: listing.files) }
            // Nothing is written from the archive before it is known to be the artifact.
            let verifiedPath = try check.wait()
            let objectStore = settings.objectStore(projectID: params.projectID, jobID: params.jobID)
            try FileSystem.makeDirectories(settings.stagingRoot, mode: 0o700)
            for leftover in [staging, objectStore, changes.backup] { try FileSystem.removeTree(leftover) }
            var extractor = TreeExtractor(
                archivePath: verifiedPath,
                plan: plan.narrowed(to: diff.itemsToWrite),
                staging: staging,
                current: nil,
                repository: work,
                objectStore: objectStore,
                checksums: ChecksumCache()
            )
            // A second thread pays for itself only on a large change (it opens its own archive).
            extractor.workers = changes.added.count + changes.replaced.count > 2000 ? 2 : 1
            extractor.openArchive = try archive()
            extractor.flatName = InPlaceChanges.stagedName
            var outcome = try runReporting(extractor, entries: "changed entries")
            // Everything extracted counts as added there (it had no current tree): sort it out.
            let replaced = Set(changes.replaced)
            outcome.changed = outcome.added.filter(replaced.contains)
            outcome.added = outcome.added.filter { !replaced.contains($0) }
            outcome.removed = changes.removed
            outcome.unchanged = diff.unchangedPaths
            // In place, `files` is what the commit changes in the index, not the whole tree.
            outcome.files += try unchangedFilesToReindex(
                diff.unchangedPaths,
                listing: listing.files,
                stale: index?.stale,
                work: work
            )
            return .inPlace(changes, outcome, retained: [whole, plan, opening, listed, diff])
        } catch {
            throw Self.rpcError(error, doing: "preparing the changes")
        }
    }

    /// Of the files an in-place sync leaves alone, those whose index entry does not describe them
    /// (`stale`, as the scan found; found here when the scan could not read the index), with
    /// their blobs hashed into the job's object store: the commit re-adds these and trusts the
    /// other entries.
    private func unchangedFilesToReindex(
        _ paths: [String],
        listing: [String: FileSystem.Info],
        stale: Set<String>?,
        work: String
    ) throws -> [TreeFile] {
        if stale?.isEmpty == true { return [] }
        let candidates = stale.map { stale in paths.filter(stale.contains) } ?? paths
        guard !candidates.isEmpty else { return [] }
        let objectStore = settings.objectStore(projectID: params.projectID, jobID: params.jobID)
        let repository = try GitRepository(workTree: work, writingObjectsTo: objectStore)
        let indexed: [IndexedFile?] =
            stale == nil
            ? repository.indexedFiles(at: candidates) : Array(repeating: nil, count: candidates.count)
        var files: [TreeFile] = []
        for (path, indexed) in zip(candidates, indexed) {
            guard let info = listing[path], !TreeExtractor.indexDescribes(indexed, info) else { continue }
            switch info.kind {
            case .file:
                let mode: UInt32 = info.mode & 0o100 != 0 ? 0o100755 : 0o100644
                files.append(
                    TreeFile(path: path, mode: mode, id: try repository.blob(fromFile: "\(work)/\(path)"))
                )
            case .symlink:
                let id = try repository.blob(bytes: FileSystem.linkTarget("\(work)/\(path)") ?? [])
                files.append(TreeFile(path: path, mode: 0o120000, id: id))
            case .directory, .other:
                continue
            }
        }
        return files
    }

    /// Applies an in-place sync's changes under its journal: saved (durably) before the first
    /// change, marked `swapped` after the last. A failure undoes what was applied.
    static func applyInPlace(
        _ journal: SwapJournal,
        _ changes: InPlaceChanges,
        objectStore: String,
        store: StateStore
    ) throws(RPCError) {
        do {
            try store.saveJournal(journal)
            // On disk before they become live (for a power cut, not a crash): the new files and
            // their blobs, and nothing else.
            let packs = (try? FileSystem.listDirectory("\(objectStore)/pack")) ?? []
            FileSystem.syncData(
                of: (changes.replaced + changes.added).map {
                    "\(journal.staging)/\(InPlaceChanges.stagedName($0))"
                }
                    + packs.map { "\(objectStore)/pack/\($0)" }
            )
            CrashPoints.hit("in-place-before-apply")
            try InPlaceApply.apply(changes, work: journal.workingDirectory, staging: journal.staging)
            CrashPoints.hit("in-place-after-apply")
            var applied = journal
            applied.step = .swapped
            try store.saveJournal(applied)
        } catch {
            // Undone, the journal goes; if the undo fails too, recovery at the next start retries it.
            if (try? InPlaceApply.undo(changes, work: journal.workingDirectory, staging: journal.staging))
                != nil
            {
                store.removeJournal(projectID: journal.projectID)
            }
            throw RPCError(
                .unavailable,
                "applying the changes failed and was undone: \(error)",
                details: ["reason": "swap_failed"]
            )
        }
    }
}
