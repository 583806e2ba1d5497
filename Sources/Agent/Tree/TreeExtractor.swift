import CGit2
import Crypto
import Dispatch
import RollbackArchive
import RollbackProtocol
import Synchronization

/// Builds the new tree in a staging directory from an archive plan:
///
/// 1. files whose size and CRC-32 match the current tree's are hard-linked, never rewritten (a
///    hand-edited file fails the check and is extracted afresh); their blob id comes from the git
///    index when its stat data still match, as git itself would decide;
/// 2. every other file is inflated once, its bytes going both to the staging file and into a git
///    packfile (one per thread, written beside the staging tree until the swap), so committing
///    later reads nothing again. Files with the same size and CRC share one packed blob.
///
/// Both passes spread contiguous ranges of entries over `workers` threads, each with its own
/// libzip and libgit2 handles. Blocking: call from a thread pool.
struct TreeExtractor {
    struct Outcome: Sendable {
        var added: [String] = []
        var changed: [String] = []
        var unchanged: [String] = []
        var removed: [String] = []
        var bytesWritten: Int64 = 0
        /// Every file and symlink of the new tree with its blob (empty without a repository).
        var files: [TreeFile] = []
        /// CRC-32 of every regular file of the new tree (stat data are taken after the swap).
        var crcs: [String: UInt32] = [:]

        mutating func merge(_ other: Outcome) {
            added += other.added
            changed += other.changed
            unchanged += other.unchanged
            bytesWritten += other.bytesWritten
            files += other.files
            crcs.merge(other.crcs) { $1 }
        }
    }

    let archivePath: String
    let plan: ArchivePlan
    let staging: String
    /// The live working directory (nil when the project has none yet).
    let current: String?
    /// Work tree of the repository whose blobs are written; nil on a dry run (nothing written).
    let repository: String?
    /// Where new objects go until the swap (`.git` itself stays untouched before it).
    let objectStore: String
    /// CRCs of the current tree's files, trusted while their stat data match.
    let checksums: ChecksumCache
    /// A selective sync's paths (`plan` is already narrowed to them): the current tree's other
    /// files stay, linked into the new tree unchanged.
    var selection: PathSelection? = nil
    /// The current tree's files, when the caller has listed them already.
    var existing: [String: FileSystem.Info]? = nil
    /// An in-place sync stages its few new files flat, each under the name this gives its path
    /// (no directories to create); nil: each at its path under `staging`.
    var flatName: (@Sendable (String) -> String)? = nil
    var workers = 2
    /// The archive at `archivePath`, already open, for a single worker to use instead of opening
    /// it again (libzip reads the whole central directory to open it: 0.15 s at 100,000 entries,
    /// on an in-place sync that writes ten files). Not shared between threads.
    var openArchive: ZipArchive? = nil

    func run(
        progress: @escaping @Sendable (Int, Int) -> Void,
        checkCancelled: @escaping @Sendable () throws -> Void
    ) throws -> Outcome {
        let existing = try self.existing ?? current.map { try FileSystem.listTree($0) } ?? [:]
        // Blob ids of the current tree's files, for the ones linked (none without a current tree).
        let indexed =
            current == nil
            ? [:] : repository.flatMap { try? GitRepository(workTree: $0).indexedFiles() } ?? [:]
        try createDirectories()
        let total = plan.items.count
        let done = Atomic<Int>(plan.items.filter { $0.kind == .directory }.count)
        let report: @Sendable (Int) -> Void = { count in
            progress(done.wrappingAdd(count, ordering: .relaxed).newValue, total)
        }

        // Pass 1: link what is unchanged; collect the rest.
        let candidates = plan.items.filter { $0.kind != .directory }
        var outcome = Outcome()
        var toWrite: [ArchivePlan.Item] = []
        for part in try parallel(
            over: candidates,
            { slice, git in
                var part = (outcome: Outcome(), rest: [ArchivePlan.Item]())
                for item in slice {
                    try checkCancelled()
                    if try link(item, git: git, existing: existing, indexed: indexed, into: &part.outcome) {
                        report(1)
                    } else {
                        part.rest.append(item)
                    }
                }
                return part
            }
        ) {
            outcome.merge(part.outcome)
            toWrite += part.rest
        }

        // Pass 2: inflate the rest; identical contents (same size and CRC) share one blob.
        var groups: [[ArchivePlan.Item]] = []
        var groupOf: [String: Int] = [:]
        for item in toWrite {
            let key = "\(item.kind == .symlink ? "l" : "f"):\(item.entry.size):\(item.entry.crc)"
            if let group = groupOf[key] {
                groups[group].append(item)
            } else {
                groupOf[key] = groups.count
                groups.append([item])
            }
        }
        for part in try parallel(
            over: groups,
            { slice, git in
                var part = Outcome()
                let pack = try git.map { _ in
                    try PackWriter(
                        directory: "\(objectStore)/pack",
                        count: slice.count,
                        name: "\(slice.first?.first?.entry.index ?? 0)"
                    )
                }
                // The plan already checked the archive's consistency.
                let archive =
                    try (workers == 1 ? openArchive : nil)
                    ?? ZipArchive(path: archivePath, checkConsistency: false)
                for group in slice {
                    try checkCancelled()
                    var shared: git_oid?
                    for item in group {
                        let id = try write(
                            item,
                            archive: archive,
                            pack: shared == nil ? pack : nil,
                            git: git,
                            expected: shared
                        )
                        if shared == nil { shared = id }
                        record(item, id: id, reused: false, existing: existing, into: &part)
                        report(1)
                    }
                }
                if let pack, slice.count > 0 { _ = try pack.finish() }
                return part
            }
        ) {
            outcome.merge(part)
        }
        let planned = Set(plan.items.lazy.filter { $0.kind != .directory }.map(\.path))
        outcome.removed = existing.keys.filter { !planned.contains($0) && selection?.matches($0) != false }
            .sorted()
        if let selection {
            try keepUnselected(selection, existing: existing, indexed: indexed, into: &outcome)
        }
        return outcome
    }

    /// Runs `body` on contiguous slices of `items`, one thread each, with its own git handle.
    private func parallel<Item: Sendable, Part: Sendable>(
        over items: [Item],
        _ body: (ArraySlice<Item>, GitRepository?) throws -> Part
    ) throws -> [Part] {
        let count = max(1, min(workers, items.count))
        let chunk = (items.count + count - 1) / max(count, 1)
        let results = Mutex<[Int: Result<Part, any Error>]>([:])
        let stop = Atomic<Bool>(false)
        let (repository, objectStore) = (self.repository, self.objectStore)
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let body = body  // each thread calls it on its own slice
            DispatchQueue.concurrentPerform(iterations: count) { worker in
                let slice = items[min(items.count, worker * chunk)..<min(items.count, (worker + 1) * chunk)]
                let result = Result<Part, any Error> {
                    if stop.load(ordering: .relaxed) { throw CancellationError() }
                    let git = try repository.map {
                        try GitRepository(workTree: $0, writingObjectsTo: objectStore)
                    }
                    return try body(slice, git)
                }
                if case .failure = result { stop.store(true, ordering: .relaxed) }
                results.withLock { $0[worker] = result }
            }
        }
        let all = results.withLock { $0 }
        // The first real failure wins over the cancellations it caused.
        if let failure = (0..<count).compactMap({ all[$0] }).first(where: {
            if case .failure(let e) = $0 { !(e is CancellationError) } else { false }
        }) {
            _ = try failure.get()
        }
        return try (0..<count).map { try all[$0]!.get() }
    }

    private func stagedPath(_ path: String) -> String {
        flatName.map { "\(staging)/\($0(path))" } ?? "\(staging)/\(path)"
    }

    private func createDirectories() throws {
        try FileSystem.makeDirectory(staging, mode: 0o755)
        if flatName != nil { return }
        // Parents sort before their children.
        for directory in plan.directories.sorted() { try FileSystem.makeDirectory("\(staging)/\(directory)") }
        if repository == staging { _ = try GitRepository(workTree: staging) }  // a project's first repository
    }

    /// Hard-links an unchanged file from the current tree. Returns false when it must be written.
    private func link(
        _ item: ArchivePlan.Item,
        git: GitRepository?,
        existing: [String: FileSystem.Info],
        indexed: [String: IndexedFile],
        into outcome: inout Outcome
    ) throws -> Bool {
        guard case .file(let executable) = item.kind, let current, let info = existing[item.path],
            info.kind == .file,
            info.size == item.entry.size
        else { return false }
        let source = "\(current)/\(item.path)"
        let crc = try checksums.crc(for: item.path, info: info) ?? FileSystem.crc32(ofFile: source)
        let target = stagedPath(item.path)
        guard crc == item.entry.crc, FileSystem.hardLink(source, target) else { return false }
        let mode: mode_t = executable ? 0o755 : 0o644
        if info.mode & 0o7777 != mode { try FileSystem.setMode(target, mode) }
        var id: git_oid?
        if let git {
            let known = indexed[item.path].flatMap { Self.statMatches($0, info) ? $0.id : nil }
            id = try known ?? git.blob(fromFile: target)
        }
        record(item, id: id, reused: true, existing: existing, into: &outcome)
        return true
    }

    /// Inflates one entry into the staging tree. With `pack`, its blob goes into the pack; with
    /// `expected` (a blob already packed for the same size and CRC) its id is checked against it
    /// and, on the rare mismatch, written as a loose object.
    private func write(
        _ item: ArchivePlan.Item,
        archive: ZipArchive,
        pack: PackWriter?,
        git: GitRepository?,
        expected: git_oid?
    ) throws -> git_oid? {
        let target = stagedPath(item.path)
        if item.kind == .symlink {
            var bytes: [UInt8] = []
            try archive.read(item.entry) { bytes.append(contentsOf: $0) }
            try FileSystem.makeSymlink(target: String(decoding: bytes, as: UTF8.self), at: target)
            guard let git else { return nil }
            if let pack {
                return try pack.addBlob(size: UInt64(bytes.count)) { sink in
                    try bytes.withUnsafeBytes { try sink($0) }
                }
            }
            return try git.blob(bytes: bytes)
        }
        guard case .file(let executable) = item.kind else { return nil }
        let mode: mode_t = executable ? 0o755 : 0o644
        let extract: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void = { tee in
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
        guard let git else {
            try extract { _ in }
            return nil
        }
        if let pack {
            // What the ZIP could not shrink (stored, or deflated to nearly its size) git cannot
            // either: store it uncompressed in the pack.
            let compressible = item.entry.compressedSize < item.entry.size - item.entry.size / 32
            return try pack.addBlob(size: item.entry.size, compress: compressible, produce: extract)
        }
        var hash = Insecure.SHA1()
        hash.update(data: Array("blob \(item.entry.size)\0".utf8))
        try extract { hash.update(bufferPointer: $0) }
        let id = Self.oid(Array(hash.finalize()))
        if let expected,
            withUnsafeBytes(of: expected, { Array($0) }) == withUnsafeBytes(of: id, { Array($0) })
        {
            return id
        }
        return try git.blob(fromFile: target)
    }

    private func record(
        _ item: ArchivePlan.Item,
        id: git_oid?,
        reused: Bool,
        existing: [String: FileSystem.Info],
        into outcome: inout Outcome
    ) {
        if case .file(let executable) = item.kind {
            if let id {
                outcome.files.append(
                    TreeFile(path: item.path, mode: executable ? 0o100755 : 0o100644, id: id)
                )
            }
            outcome.crcs[item.path] = item.entry.crc
        } else if let id {
            outcome.files.append(TreeFile(path: item.path, mode: 0o120000, id: id))
        }
        if reused {
            outcome.unchanged.append(item.path)
        } else {
            if case .file = item.kind { outcome.bytesWritten += Int64(item.entry.size) }
            if existing[item.path] != nil {
                outcome.changed.append(item.path)
            } else {
                outcome.added.append(item.path)
            }
        }
    }

    /// The index's stat data still describe the file, so its blob id can be trusted.
    static func statMatches(_ entry: IndexedFile, _ info: FileSystem.Info) -> Bool {
        entry.size == UInt32(truncatingIfNeeded: info.size)
            && entry.mtimeSeconds == Int32(truncatingIfNeeded: info.mtimeSeconds)
            && entry.mtimeNanoseconds == UInt32(truncatingIfNeeded: info.mtimeNanoseconds)
            && entry.inode == UInt32(truncatingIfNeeded: info.inode)
    }

    /// Whether the index entry `indexed` describes the file listed as `info` (git's own test).
    static func indexDescribes(_ indexed: IndexedFile?, _ info: FileSystem.Info) -> Bool {
        guard let indexed else { return false }
        switch info.kind {
        case .file:
            let mode: UInt32 = info.mode & 0o100 != 0 ? 0o100755 : 0o100644
            return indexed.mode == mode && statMatches(indexed, info)
        case .symlink:
            return indexed.mode == 0o120000 && statMatches(indexed, info)
        case .directory, .other:
            return true  // not the index's business
        }
    }

    private static func oid(_ bytes: [UInt8]) -> git_oid {
        var id = git_oid()
        withUnsafeMutableBytes(of: &id) { $0.copyBytes(from: bytes.prefix(20)) }
        return id
    }
}

#if canImport(Glibc)
import Glibc
#endif
