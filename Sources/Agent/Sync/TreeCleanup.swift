/// What is left after a sync has answered: deleting the old tree, then bringing up to date the
/// stat data that the deletion changed. Files shared with the old tree through hard links get a
/// new ctime when the old names go, so the CRC cache and the git index are refreshed afterwards;
/// otherwise the next sync would read those files again and `git status` would re-hash them.
///
/// Runs after the answer, off the request's path; the next sync of the same project waits for it.
struct TreeCleanup: Sendable {
    /// The old tree, moved aside; nil when nothing is left to delete.
    let trash: String?
    let workingDirectory: String
    /// CRC-32 of every regular file of the new tree, by path.
    let crcs: [String: UInt32]
    let checksumFile: String
    /// Exists while the index is being written, so that recovery knows a lock left there by a
    /// crash is this agent's own (`StateStore.cleanupMarker`).
    let marker: String

    func perform() {
        if let trash { try? FileSystem.removeTree(trash) }
        var cache = ChecksumCache()
        var stats: [String: stat] = [:]
        stats.reserveCapacity(crcs.count)
        for (path, crc) in crcs {
            guard let status = FileSystem.status("\(workingDirectory)/\(path)") else { continue }
            cache.record(path, info: FileSystem.Info(status), crc: crc)
            stats[path] = status
        }
        cache.save(to: checksumFile)
        _ = FileSystem.createMarker(marker)
        if CrashPoints.isArmed("during-index-refresh") {
            // Stands for a kill inside libgit2's index write, which holds `index.lock`.
            _ = FileSystem.createMarker("\(workingDirectory)/.git/index.lock")
            CrashPoints.hit("during-index-refresh")
        }
        // Best effort: if someone holds the index lock, git refreshes the stat data itself later.
        try? GitRepository(workTree: workingDirectory).refreshIndexStat(stats)
        unlink(marker)
    }
}

#if canImport(Glibc)
import Glibc
#endif
