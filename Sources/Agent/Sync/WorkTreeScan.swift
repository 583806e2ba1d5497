import Dispatch
import Synchronization

/// The working directory's listing, its CRC cache and its git index, read on a thread of their
/// own from the moment a sync starts. None of them needs the artifact: on a large tree the
/// listing takes as long as the download, and done side by side the sync pays for one of them.
/// Read only: a sync that fails before using it leaves nothing behind (its thread finishes the
/// read and drops it).
final class WorkTreeScan: Sendable {
    typealias Read = (listing: FileSystem.Listing, checksums: ChecksumCache, index: IndexRead?)

    /// The git index as the scan read it, beside the listing.
    final class IndexRead: @unchecked Sendable {
        // @unchecked: the repository has one user at a time, the scan's thread until the read
        // is complete, then the sync.
        /// Open, its index loaded: the commit reuses it instead of reading the index again.
        let repository: GitRepository
        /// The listed files whose index entry does not describe them (none, another mode, or
        /// stat data that no longer match, as git decides): a sync that leaves such a file
        /// alone must still add it again.
        let stale: Set<String>

        init(repository: GitRepository, stale: Set<String>) {
            self.repository = repository
            self.stale = stale
        }
    }

    private let result = Mutex<Result<Read, any Error>?>(nil)
    private let done = DispatchGroup()
    private let started = ContinuousClock.now

    /// How old a listing may be when the sync starts using it. Its stat data are what the sync
    /// judges files by (a file whose size and mtime match the CRC cache is taken as unchanged),
    /// so a file edited after it was listed would be missed: past this age (a slow download),
    /// `renewed` lists again.
    static let maxAge: Duration = .seconds(1)

    private let work: String
    private let checksumFile: String
    private let projectID: String
    private let watch: TreeWatch

    /// Starts reading `work` and `checksumFile`; nil when `work` has no git repository (an
    /// in-place sync needs one, so nothing would use the read). `watch` lists the tree.
    init?(work: String, checksumFile: String, projectID: String, watch: TreeWatch) {
        guard FileSystem.info("\(work)/.git")?.kind == .directory else { return nil }
        (self.work, self.checksumFile, self.projectID, self.watch) = (work, checksumFile, projectID, watch)
        DispatchQueue.global().async(group: done) { [self] in
            let read = Result { () throws -> Read in
                let checksums = ChecksumCache.load(from: checksumFile)
                let listing = try watch.listing(
                    projectID: projectID,
                    root: work,
                    expectedFiles: checksums.count
                )
                return (listing, checksums, Self.readIndex(of: work, files: listing.files))
            }
            result.withLock { $0 = read }
        }
    }

    /// This scan while it is younger than `maxAge`, else a new one started now (nil when the
    /// repository has gone).
    func renewed() -> WorkTreeScan? {
        ContinuousClock.now - started < Self.maxAge
            ? self : WorkTreeScan(work: work, checksumFile: checksumFile, projectID: projectID, watch: watch)
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

    /// The index's view of `files`; nil when the repository or its index cannot be read (the
    /// sync then checks the files it leaves alone on its own, as before).
    private static func readIndex(of work: String, files: [String: FileSystem.Info]) -> IndexRead? {
        guard let repository = try? GitRepository(workTree: work) else { return nil }
        let entries = Array(files)
        guard let indexed = repository.indexedFilesIfReadable(at: entries.map(\.key)) else { return nil }
        var stale = Set<String>()
        for ((path, info), indexed) in zip(entries, indexed)
        where !TreeExtractor.indexDescribes(indexed, info) {
            stale.insert(path)
        }
        return IndexRead(repository: repository, stale: stale)
    }
}
