import CGit2
import Synchronization

/// What this process last committed in each repository: the index file it wrote (its stat data)
/// and the commit. While the index file and HEAD are both still those, the index holds exactly
/// that commit's tree (the index is only ever written with its tree), so the next in-place commit can derive its tree from the commit's
/// (`git_tree_create_updated`: only the trees along the changed paths are read and written)
/// instead of from the index (libgit2 then reads every tree of the project again to refill the
/// index's tree cache: 70–100 ms at 10,000 directories). Kept in memory only: after a restart,
/// the first commit takes the index's way.
enum CommittedIndexMemo {
    private struct Committed {
        var index: IndexFile
        var commit: git_oid
    }

    /// The index file's identity. Not its ctime: the sync's hard link to the index (its copy
    /// for an undo) changes that. libgit2 and git replace the file on every write (a new
    /// inode), and its mtime has nanoseconds.
    private struct IndexFile: Equatable {
        var inode: ino_t
        var size: UInt64
        var mtimeSeconds: Int
        var mtimeNanoseconds: Int

        init?(_ path: String) {
            guard let info = FileSystem.info(path) else { return nil }
            (inode, size) = (info.inode, info.size)
            (mtimeSeconds, mtimeNanoseconds) = (info.mtimeSeconds, info.mtimeNanoseconds)
        }
    }

    private static let committed = Mutex<[String: Committed]>([:])

    /// Records that `repository` (its `.git` path) has just written its index at `indexPath`
    /// and committed `commit` on HEAD.
    static func record(repository: String, indexPath: String, commit: git_oid) {
        let stamp = IndexFile(indexPath)
        committed.withLock { $0[repository] = stamp.map { Committed(index: $0, commit: commit) } }
    }

    /// The commit whose tree the index at `indexPath` holds exactly, if this process wrote
    /// both and neither has changed since (`head`: HEAD's commit now).
    static func commit(repository: String, indexPath: String, head: git_oid) -> git_oid? {
        guard let stamp = IndexFile(indexPath) else { return nil }
        return committed.withLock { (committed) -> git_oid? in
            guard let known = committed[repository], known.index == stamp else { return nil }
            var recorded = known.commit
            var head = head
            return git_oid_cmp(&recorded, &head) == 0 ? recorded : nil
        }
    }

    /// Forgets `repository` (its index changed in a way not recorded).
    static func forget(repository: String) {
        _ = committed.withLock { $0.removeValue(forKey: repository) }
    }
}
