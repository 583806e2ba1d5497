import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// libzip opening an archive on a thread of its own (it reads the whole central directory into
/// its structures: 60 ms at 100,000 entries) while the caller works from `ZipDirectory`'s
/// reading of the same directory. Only reading an entry's data waits for it; an in-place sync
/// reads a handful.
package final class ZipArchiveOpening: @unchecked Sendable {
    // @unchecked: `opened` is written once, by the opening thread before it leaves `done`, and
    // read only after waiting on `done`; the archive then has one user at a time, the caller.
    private var opened: Result<ZipArchive, ArchiveError>?
    private let done = DispatchGroup()
    private let started = Atomic<Bool>(false)
    private let path: String
    /// The archive's file, opened at once: every later reading, here or by libzip, is of this
    /// file, wherever its path goes meanwhile (a checked artifact is moved into the cache).
    private let descriptor: Int32

    /// Opens the file at `path` now, and libzip on it (without its consistency pass, see
    /// `ZipArchive.init`) once started.
    package init(path: String) {
        self.path = path
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// `ZipDirectory`'s reading of the file's central directory (nil: outside its subset, or the
    /// file could not be opened).
    package func directoryEntries(maxEntries: Int) -> [ZipEntry]? {
        descriptor >= 0 ? ZipDirectory.entries(inFile: descriptor, maxEntries: maxEntries) : nil
    }

    /// Starts the opening (once; later calls do nothing). The caller picks the moment: while
    /// the other core has nothing better to do.
    package func start() {
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else { return }
        done.enter()
        DispatchQueue.global().async { [self, path, descriptor] in
            opened = Result { () throws(ArchiveError) in
                guard descriptor >= 0 else { throw .unreadable("\(path): cannot be opened") }
                return try ZipArchive(descriptor: descriptor, checkConsistency: false)
            }
            done.leave()
        }
    }

    /// The open archive (starting the opening if it was not), once libzip has opened it; waits
    /// for it, as often as asked. With `expectingEntries`, libzip must count as many entries as
    /// the directory as planned: the two readings of one archive must agree (each entry read is
    /// checked against its plan too).
    package func archive(expectingEntries expected: Int? = nil) throws(ArchiveError) -> ZipArchive {
        start()
        done.wait()
        guard let opened else { preconditionFailure("the opening finished without a result") }
        let archive = try opened.get()
        try archive.expectEntryCount(expected)
        return archive
    }
}
