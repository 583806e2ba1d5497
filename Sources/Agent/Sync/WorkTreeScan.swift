import Dispatch
import Synchronization

/// The working directory's listing and its CRC cache, read on a thread of their own from the
/// moment a sync starts. Neither needs the artifact: on a large tree the listing (one `fstatat`
/// per file) takes as long as the download, and done side by side the sync pays for one of them.
/// Read only: a sync that fails before using it leaves nothing behind (its thread finishes the
/// read and drops it).
final class WorkTreeScan: Sendable {
    typealias Read = (listing: FileSystem.Listing, checksums: ChecksumCache)

    private let result = Mutex<Result<Read, any Error>?>(nil)
    private let done = DispatchGroup()
    private let started = ContinuousClock.now

    /// How old a listing may be when the sync starts using it. Its stat data are what the sync
    /// judges files by (a file whose size and mtime match the CRC cache is taken as unchanged),
    /// so a file edited after it was listed would be missed: past this age (a slow download),
    /// `renewed` lists again.
    static let maxAge: Duration = .seconds(1)

    /// Starts reading `work` and `checksumFile`; nil when `work` has no git repository (an
    /// in-place sync needs one, so nothing would use the read).
    init?(work: String, checksumFile: String) {
        guard FileSystem.info("\(work)/.git")?.kind == .directory else { return nil }
        DispatchQueue.global().async(group: done) { [self] in
            let read = Result { () throws -> Read in
                let checksums = ChecksumCache.load(from: checksumFile)
                return (
                    try FileSystem.listTreeWithDirectories(work, expectedFiles: checksums.count), checksums
                )
            }
            result.withLock { $0 = read }
        }
    }

    /// This scan while it is younger than `maxAge`, else a new one started now (nil when the
    /// repository has gone).
    func renewed(work: String, checksumFile: String) -> WorkTreeScan? {
        ContinuousClock.now - started < Self.maxAge
            ? self : WorkTreeScan(work: work, checksumFile: checksumFile)
    }

    /// The read, once it is complete (waits for it, as often as asked); throws what the listing
    /// threw.
    func wait() throws -> Read {
        done.wait()
        guard let read = result.withLock({ $0 }) else {
            preconditionFailure("the read finished without keeping its result")
        }
        return try read.get()
    }
}
