/// What is left after a sync has answered: deleting the old tree, then bringing the agent's CRC
/// cache up to date with the stat data the deletion changed (files shared with the old tree
/// through hard links get a new ctime when the old names go), so the next sync need not read
/// them again.
///
/// It never touches `.git`: when the answer says done, the repository is done. The index the
/// commit wrote stays true because the repository ignores ctime (`core.trustctime = false`).
///
/// Runs after the answer, off the request's path; the next sync of the same project waits for it.
struct TreeCleanup: Sendable {
    /// The old tree, moved aside; nil when nothing is left to delete.
    let trash: String?
    let workingDirectory: String
    /// CRC-32 of every regular file of the new tree, by path.
    let crcs: [String: UInt32]
    let checksumFile: String

    func perform() {
        if let trash { try? FileSystem.removeTree(trash) }
        var cache = ChecksumCache()
        for (path, crc) in crcs {
            guard let info = FileSystem.info("\(workingDirectory)/\(path)") else { continue }
            cache.record(path, info: info, crc: crc)
        }
        cache.save(to: checksumFile)
    }
}
