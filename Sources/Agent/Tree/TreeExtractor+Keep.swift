import CGit2
import RollbackProtocol

extension TreeExtractor {
    /// A selective sync keeps what it does not select: each such file of the current tree is
    /// hard-linked into the new tree (never rewritten), each such symlink re-created, with its
    /// blob (the index's when its stat data still match, as for an unchanged file).
    func keepUnselected(
        _ selection: PathSelection,
        existing: [String: FileSystem.Info],
        indexed: [String: IndexedFile],
        into outcome: inout Outcome
    ) throws {
        guard let current else { return }
        let git = try repository.map { try GitRepository(workTree: $0, writingObjectsTo: objectStore) }
        for (path, info) in existing.sorted(by: { $0.key < $1.key }) where !selection.matches(path) {
            let source = "\(current)/\(path)"
            let target = "\(staging)/\(path)"
            if let slash = path.lastIndex(of: "/") {
                try FileSystem.makeDirectories("\(staging)/\(path[..<slash])")
            }
            switch info.kind {
            case .file:
                try FileSystem.link(source, to: target)
                if let git {
                    let known = indexed[path].flatMap { Self.statMatches($0, info) ? $0.id : nil }
                    let mode: UInt32 = info.mode & 0o111 != 0 ? 0o100755 : 0o100644
                    outcome.files.append(
                        TreeFile(path: path, mode: mode, id: try known ?? git.blob(fromFile: target))
                    )
                }
                if let crc = checksums.crc(for: path, info: info) { outcome.crcs[path] = crc }
            case .symlink:
                let bytes = FileSystem.linkTarget(source) ?? []
                try FileSystem.makeSymlink(target: String(decoding: bytes, as: UTF8.self), at: target)
                if let git {
                    outcome.files.append(TreeFile(path: path, mode: 0o120000, id: try git.blob(bytes: bytes)))
                }
            case .directory, .other:
                continue  // directories follow from their files; a sync never writes other kinds
            }
            outcome.unchanged.append(path)
        }
    }
}
