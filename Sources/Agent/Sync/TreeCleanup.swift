#if canImport(Glibc)
import Glibc
#endif

/// What is left after a sync has answered: deleting the old tree (or an in-place sync's old
/// files), then, when the deletion changed the stat data of files the new tree shares with the
/// old one through hard links (a new ctime), bringing the CRC cache up to date again so the
/// sync after next need not read them.
///
/// It never touches `.git`: when the answer says done, the repository is done. The index the
/// commit wrote stays true because the repository ignores ctime (`core.trustctime = false`).
///
/// Runs after the answer, off the request's path. The next sync of the project does not wait
/// for it: the sync wrote the cache before answering, and `ChecksumCacheWrites` drops this
/// refresh once a newer sync has begun. While a sync runs on the agent, the deletion gives way
/// (for at most `maximumPause` in all): unlinking thousands of files competes with the sync for
/// the disk and the file system's journal.
struct TreeCleanup: Sendable {
    /// The old tree or old files, moved aside; nil when nothing is left to delete.
    let trash: String?
    let workingDirectory: String
    /// CRC-32 of the files whose stat data the deletion may change, by path; empty when none.
    let refresh: [String: UInt32]
    let checksumFile: String
    let projectID: String
    let writes: ChecksumCacheWrites
    let generation: UInt64
    /// After a whole-tree sync, the watch of the new tree: told of the files whose ctime the
    /// deletion changed (no event in the tree says so).
    var watch: TreeWatch? = nil
    /// Large values of the sync, freed when the clean-up is (off the answer's path).
    var retained: [any Sendable] = []
    /// Whether a sync is running on the agent.
    var syncRunning: @Sendable () -> Bool = { false }
    var maximumPause: Duration = .seconds(10)

    func perform() {
        if let trash {
            let clock = ContinuousClock()
            var paused = Duration.zero
            try? FileSystem.removeTree(trash) {
                while paused < maximumPause, syncRunning() {
                    let start = clock.now
                    usleep(10_000)
                    paused += clock.now - start
                }
            }
        }
        guard !refresh.isEmpty else { return }
        watch?.touched(projectID: projectID, paths: refresh.keys)
        writes.save(
            ChecksumCache.load(from: checksumFile).updated(
                removing: [],
                recording: refresh,
                in: workingDirectory
            ),
            to: checksumFile,
            projectID: projectID,
            generation: generation
        )
    }
}
