/// Builds the new tree in a staging directory from an archive plan, reusing (hard-linking) the
/// current tree's files whose size and CRC-32 match the archive's, so unchanged files are never
/// rewritten. A hand-edited file fails the CRC check and is extracted afresh.
struct TreeExtractor {
    struct Outcome: Sendable {
        var added: [String] = []
        var changed: [String] = []
        var unchanged: [String] = []
        var removed: [String] = []
        var bytesWritten: Int64 = 0
    }

    let archive: ZipArchive
    let plan: ArchivePlan
    let staging: String
    /// The live working directory (nil when the project has none yet).
    let current: String?

    /// - Parameters:
    ///   - progress: called with (entries done, entries total) after each entry.
    ///   - checkCancelled: throws to stop between entries.
    func run(progress: (Int, Int) -> Void, checkCancelled: () throws -> Void) throws -> Outcome {
        var outcome = Outcome()
        let existing = try current.map { try FileSystem.listTree($0) } ?? [:]
        try FileSystem.makeDirectory(staging, mode: 0o755)
        var made = Set<String>()
        func ensureParent(of path: String) throws {
            guard let slash = path.lastIndex(of: "/") else { return }
            let parent = String(path[..<slash])
            if made.insert(parent).inserted { try FileSystem.makeDirectories("\(staging)/\(parent)") }
        }
        let total = plan.items.count
        for (done, item) in plan.items.enumerated() {
            try checkCancelled()
            let target = "\(staging)/\(item.path)"
            switch item.kind {
            case .directory:
                if made.insert(item.path).inserted { try FileSystem.makeDirectories(target) }
            case .symlink:
                try ensureParent(of: item.path)
                var bytes: [UInt8] = []
                try archive.read(item.entry) { bytes.append(contentsOf: $0) }
                try FileSystem.makeSymlink(target: String(decoding: bytes, as: UTF8.self), at: target)
                record(item.path, reused: false, existing: existing, into: &outcome)
            case .file(let executable):
                try ensureParent(of: item.path)
                let mode: mode_t = executable ? 0o755 : 0o644
                if let current,
                    try reuse(
                        from: "\(current)/\(item.path)",
                        at: target,
                        item: item,
                        mode: mode,
                        existing: existing
                    )
                {
                    record(item.path, reused: true, existing: existing, into: &outcome)
                } else {
                    try FileSystem.createFile(target, mode: mode) { write in
                        try archive.read(item.entry) { chunk throws(ArchiveError) in
                            do { try write(chunk) } catch {
                                throw .unreadable("writing \(item.path): \(error)")
                            }
                        }
                    }
                    outcome.bytesWritten += Int64(item.entry.size)
                    record(item.path, reused: false, existing: existing, into: &outcome)
                }
            }
            progress(done + 1, total)
        }
        let planned = Set(plan.items.map(\.path))
        outcome.removed = existing.keys.filter { !planned.contains($0) }.sorted()
        return outcome
    }

    private func reuse(
        from source: String,
        at target: String,
        item: ArchivePlan.Item,
        mode: mode_t,
        existing: [String: FileSystem.Info]
    ) throws -> Bool {
        guard let info = existing[item.path], info.kind == .file, info.size == item.entry.size else {
            return false
        }
        guard try FileSystem.crc32(ofFile: source) == item.entry.crc else { return false }
        guard FileSystem.hardLink(source, target) else { return false }
        if info.mode & 0o7777 != mode { try FileSystem.setMode(target, mode) }
        return true
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
