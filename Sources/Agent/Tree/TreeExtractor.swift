import CGit2
import Dispatch
import Synchronization

/// Builds the new tree in a staging directory from an archive plan, in one pass per file:
///
/// - a file whose size and CRC-32 match the current tree's is hard-linked, never rewritten (a
///   hand-edited file fails the CRC check and is extracted afresh), and its blob id comes from
///   the git index when the index's stat data still match, as git itself would decide;
/// - any other file is inflated once, its bytes going both to the staging file and into a git
///   blob, so committing later reads nothing again.
///
/// Files are spread over `workers` threads, each with its own libzip and libgit2 handles.
/// Blocking: call from a thread pool.
struct TreeExtractor {
    struct Outcome: Sendable {
        var added: [String] = []
        var changed: [String] = []
        var unchanged: [String] = []
        var removed: [String] = []
        var bytesWritten: Int64 = 0
        /// Every file and symlink of the new tree with its blob (empty without a repository).
        var files: [TreeFile] = []
        /// CRC-32 and stat data of every regular file of the new tree, for the next sync.
        var checksums = ChecksumCache()
    }

    let archivePath: String
    let plan: ArchivePlan
    let staging: String
    /// The live working directory (nil when the project has none yet).
    let current: String?
    /// Work tree of the repository whose blobs are written; nil on a dry run (nothing written).
    let repository: String?
    /// Where new blobs go until the swap (`.git` itself stays untouched before it).
    let objectStore: String
    /// CRCs of the current tree's files, trusted while their stat data match.
    let checksums: ChecksumCache
    var workers = 2

    private struct WorkerResult {
        var outcome = Outcome()
        var failure: (any Error)?
    }

    func run(
        progress: @escaping @Sendable (Int, Int) -> Void,
        checkCancelled: @escaping @Sendable () throws -> Void
    ) throws -> Outcome {
        let existing = try current.map { try FileSystem.listTree($0) } ?? [:]
        let indexed = repository.flatMap { try? GitRepository(workTree: $0).indexedFiles() } ?? [:]
        try createDirectories()

        let items = plan.items.filter { $0.kind != .directory }
        let total = plan.items.count
        let done = Atomic<Int>(plan.items.count - items.count)
        let stop = Atomic<Bool>(false)
        let results = Mutex<[WorkerResult]>([])
        let workerCount = max(1, min(workers, items.count))
        DispatchQueue.concurrentPerform(iterations: workerCount) { worker in
            var result = WorkerResult()
            do {
                let archive = try ZipArchive(path: archivePath)
                let git = try repository.map {
                    try GitRepository(workTree: $0, writingObjectsTo: objectStore)
                }
                // Contiguous ranges: archives group entries by directory, and two threads creating
                // files in one directory contend on its lock.
                let chunk = (items.count + workerCount - 1) / workerCount
                for index in (worker * chunk)..<min(items.count, (worker + 1) * chunk) {
                    if stop.load(ordering: .relaxed) { break }
                    try checkCancelled()
                    try place(
                        items[index],
                        archive: archive,
                        git: git,
                        existing: existing,
                        indexed: indexed,
                        into: &result.outcome
                    )
                    progress(done.wrappingAdd(1, ordering: .relaxed).newValue, total)
                }
            } catch {
                stop.store(true, ordering: .relaxed)
                result.failure = error
            }
            results.withLock { $0.append(result) }
        }
        var outcome = Outcome()
        for result in results.withLock({ $0 }) {
            if let failure = result.failure { throw failure }
            outcome.added += result.outcome.added
            outcome.changed += result.outcome.changed
            outcome.unchanged += result.outcome.unchanged
            outcome.bytesWritten += result.outcome.bytesWritten
            outcome.files += result.outcome.files
            for (path, entry) in result.outcome.checksums.entries {
                outcome.checksums.record(path, stamp: entry.stamp, crc: entry.crc)
            }
        }
        let planned = Set(plan.items.map(\.path))
        outcome.removed = existing.keys.filter { !planned.contains($0) }.sorted()
        return outcome
    }

    private func createDirectories() throws {
        try FileSystem.makeDirectory(staging, mode: 0o755)
        var directories = Set<String>()
        for item in plan.items {
            if item.kind == .directory { directories.insert(item.path) }
            var parent = Substring(item.path)
            while let slash = parent.lastIndex(of: "/") {
                parent = parent[..<slash]
                directories.insert(String(parent))
            }
        }
        // Parents sort before their children.
        for directory in directories.sorted() { try FileSystem.makeDirectory("\(staging)/\(directory)") }
        if repository == staging { _ = try GitRepository(workTree: staging) }  // a project's first repository
    }

    private func place(
        _ item: ArchivePlan.Item,
        archive: ZipArchive,
        git: GitRepository?,
        existing: [String: FileSystem.Info],
        indexed: [String: IndexedFile],
        into outcome: inout Outcome
    ) throws {
        let target = "\(staging)/\(item.path)"
        switch item.kind {
        case .directory:
            return
        case .symlink:
            var bytes: [UInt8] = []
            try archive.read(item.entry) { bytes.append(contentsOf: $0) }
            try FileSystem.makeSymlink(target: String(decoding: bytes, as: UTF8.self), at: target)
            if let git {
                outcome.files.append(
                    TreeFile(path: item.path, mode: 0o120000, id: try git.blob(bytes: bytes))
                )
            }
            record(item.path, reused: false, existing: existing, into: &outcome)
        case .file(let executable):
            let mode: mode_t = executable ? 0o755 : 0o644
            let gitMode: UInt32 = executable ? 0o100755 : 0o100644
            defer {
                // Stat data after the last change to the file (link, chmod, write).
                if let placed = FileSystem.info(target) {
                    outcome.checksums.record(item.path, info: placed, crc: item.entry.crc)
                }
            }
            if let current, let info = existing[item.path],
                try reuse("\(current)/\(item.path)", info: info, at: target, item: item, mode: mode)
            {
                if let git {
                    let known = indexed[item.path].flatMap { entry in
                        Self.statMatches(entry, info) ? entry.id : nil
                    }
                    outcome.files.append(
                        TreeFile(path: item.path, mode: gitMode, id: try known ?? git.blob(fromFile: target))
                    )
                }
                record(item.path, reused: true, existing: existing, into: &outcome)
                return
            }
            if let git {
                let id = try git.writeBlob(size: item.entry.size) { blobWrite in
                    try extract(item, archive: archive, to: target, mode: mode, tee: blobWrite)
                }
                outcome.files.append(TreeFile(path: item.path, mode: gitMode, id: id))
            } else {
                try extract(item, archive: archive, to: target, mode: mode, tee: { _ in })
            }
            outcome.bytesWritten += Int64(item.entry.size)
            record(item.path, reused: false, existing: existing, into: &outcome)
        }
    }

    private func extract(
        _ item: ArchivePlan.Item,
        archive: ZipArchive,
        to target: String,
        mode: mode_t,
        tee: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        try FileSystem.createFile(target, mode: mode) { write in
            var pending: (any Error)?
            try archive.read(item.entry) { (chunk) throws(ArchiveError) in
                do {
                    try write(chunk)
                    try tee(chunk)
                } catch {
                    pending = error
                    throw .unreadable("writing \(item.path): \(error)")
                }
            }
            if let pending { throw pending }
        }
    }

    private func reuse(
        _ source: String,
        info: FileSystem.Info,
        at target: String,
        item: ArchivePlan.Item,
        mode: mode_t
    ) throws -> Bool {
        guard info.kind == .file, info.size == item.entry.size else { return false }
        let crc = try checksums.crc(for: item.path, info: info) ?? FileSystem.crc32(ofFile: source)
        guard crc == item.entry.crc else { return false }
        guard FileSystem.hardLink(source, target) else { return false }
        if info.mode & 0o7777 != mode { try FileSystem.setMode(target, mode) }
        return true
    }

    /// The index's stat data still describe the file, so its blob id can be trusted.
    private static func statMatches(_ entry: IndexedFile, _ info: FileSystem.Info) -> Bool {
        entry.size == UInt32(truncatingIfNeeded: info.size)
            && entry.mtimeSeconds == Int32(truncatingIfNeeded: info.mtimeSeconds)
            && entry.mtimeNanoseconds == UInt32(truncatingIfNeeded: info.mtimeNanoseconds)
            && entry.inode == UInt32(truncatingIfNeeded: info.inode)
    }

    private func record(
        _ path: String,
        reused: Bool,
        existing: [String: FileSystem.Info],
        into outcome: inout Outcome
    ) {
        if reused {
            outcome.unchanged.append(path)
        } else if existing[path] != nil {
            outcome.changed.append(path)
        } else {
            outcome.added.append(path)
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
