import RollbackArchive
import RollbackProtocol

/// What a sync of an archive plan would change in a working directory, decided as the
/// extractor decides it (a file whose size, CRC-32 and executable bit match is unchanged) but
/// without writing anything: no staging tree, no blobs, no checksum cache. Used by dry runs
/// (previews) and by a sync deciding whether to apply its changes in place.
/// Blocking: call from a thread pool.
struct TreeComparer {
    struct Diff: Sendable {
        var added: [String] = []
        var changed: [String] = []
        var removed: [String] = []
        var unchanged = 0
        /// The unchanged paths, with `listUnchanged` (a selective sync's unselected ones too).
        var unchangedPaths: [String] = []
        /// Bytes of the files the sync would write (added and changed ones).
        var bytesToWrite: Int64 = 0
        /// The plan's items for `added` and `changed`, unsorted: what the sync would write.
        var itemsToWrite: [ArchivePlan.Item] = []

        var changeCount: Int { added.count + changed.count + removed.count }
    }

    /// The plan of what the sync takes from the archive (already narrowed to `selection`).
    let plan: ArchivePlan
    /// The archive, for reading symlink targets (waits for it when it is still being opened).
    let archive: () throws(ArchiveError) -> ZipArchive
    /// The live working directory (nil when the project has none yet).
    let current: String?
    let checksums: ChecksumCache
    /// A selective sync's paths: what it does not select stays (counted unchanged).
    var selection: PathSelection? = nil
    /// Keep `unchangedPaths`.
    var listUnchanged = false

    /// The diff; nil as soon as more than `maxChanges` added and changed files are found.
    func run(
        existing: [String: FileSystem.Info]? = nil,
        maxChanges: Int = .max,
        checkCancelled: () throws -> Void
    ) throws -> Diff? {
        let existing = try existing ?? current.map { try FileSystem.listTree($0) } ?? [:]
        var diff = Diff()
        if listUnchanged { diff.unchangedPaths.reserveCapacity(plan.items.count) }
        // How many of the existing files the plan has: when it has them all, nothing is removed
        // and no set of the plan's paths is needed to find what would be.
        var plannedExisting = 0
        for item in plan.items where item.kind != .directory {
            try checkCancelled()
            let found = existing[item.path]
            if found != nil { plannedExisting += 1 }
            if try isUnchanged(item, existing: found) {
                diff.unchanged += 1
                if listUnchanged { diff.unchangedPaths.append(item.path) }
                continue
            }
            if case .file = item.kind { diff.bytesToWrite += Int64(item.entry.size) }
            diff.itemsToWrite.append(item)
            if found != nil {
                diff.changed.append(item.path)
            } else {
                diff.added.append(item.path)
            }
            if diff.added.count + diff.changed.count > maxChanges { return nil }
        }
        diff.added.sort()
        diff.changed.sort()
        guard plannedExisting < existing.count else { return diff }
        let planned = Set(plan.items.lazy.filter { $0.kind != .directory }.map(\.path))
        diff.removed = existing.keys.filter { !planned.contains($0) && selection?.matches($0) != false }
            .sorted()
        if let selection {
            let kept = existing.keys.filter { !selection.matches($0) }
            diff.unchanged += kept.count
            if listUnchanged { diff.unchangedPaths += kept }
        }
        return diff
    }

    private func isUnchanged(_ item: ArchivePlan.Item, existing: FileSystem.Info?) throws -> Bool {
        guard let existing, let current else { return false }
        // Built only when the file itself is read: the cache answers for almost every file.
        var path: String { "\(current)/\(item.path)" }
        switch item.kind {
        case .file(let executable):
            guard existing.kind == .file, existing.size == item.entry.size,
                (existing.mode & 0o100 != 0) == executable
            else { return false }
            let crc = try checksums.crc(for: item.path, info: existing) ?? FileSystem.crc32(ofFile: path)
            return crc == item.entry.crc
        case .symlink:
            guard existing.kind == .symlink else { return false }
            return try FileSystem.linkTarget(path) == archive().bytes(of: item.entry)
        case .directory:
            return true
        }
    }
}
