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
