import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Keeps the listing of a large working directory true between syncs from the kernel's inotify
/// events, so that a sync reads again only the paths something touched since the last one,
/// not every file of the tree (one `fstatat` per file is 0.3 s on a 100,000-file tree).
///
/// One inotify instance for the agent; a watch on every directory of each watched tree, added
/// before the directory is read, so nothing can change unseen between the reading and the
/// watching. Events are read when a sync asks for a listing (the kernel queues them
/// meanwhile). Whatever the events cannot vouch for throws the project's listing away, and the
/// next sync lists the whole tree again, as it does without a watch:
/// - the kernel's queue overflowed (every project);
/// - the tree's root was moved, deleted or replaced (a whole-tree sync exchanges it);
/// - more paths were touched than re-reading them saves (`maximumTouchedShare`);
/// - a watch could not be added (`fs.inotify.max_user_watches`).
///
/// Changes that make no event in the tree's own directories are not seen: a write through a
/// hard link from outside the tree, or from another machine on a network file system. Turn
/// watching off (`minimumFiles` 0) for such trees.
final class TreeWatch: Sendable {
    /// Trees with fewer files than this are listed whole at every sync (cheap enough beside the
    /// download, and no watches or memory are spent on them). 0: never watch.
    let minimumFiles: Int
    /// At most this many trees are watched; the one used longest ago makes way for a new one.
    let maximumProjects: Int
    /// A tree with more touched paths than this share of its files is listed again instead.
    static let maximumTouchedShare = 0.25

    private let descriptor: Int32
    private let logger: Logger
    private let state = Mutex(State())
    /// Serialises reading the event queue, so events are handled in the order they came.
    private let reading = Mutex(())
    /// One lock per project: a listing (or its refresh) of a tree at a time.
    private let projectLocks = Mutex<[String: ProjectLock]>([:])

    private final class ProjectLock: Sendable {
        let mutex = Mutex(())
    }

    /// What is known of one watched tree.
    private struct Watched {
        let root: String
        let rootInode: UInt64
        /// As of the last sync's request, minus what the events since say; nil while a sync
        /// has it (taken out so that it is changed in place, not copied).
        var listing: FileSystem.Listing?
        /// Files and symbolic links touched since (created, written, removed, renamed, chmodded).
        var touchedFiles: Set<String> = []
        /// Directories created, removed or renamed since: their subtree is read again.
        var touchedDirectories: Set<String> = []
        /// Watch descriptor → the directory's relative path ("" for the root).
        var directories: [Int32: String] = [:]
        var trusted = true
        var lastUsed: UInt64 = 0

        var touchedCount: Int { touchedFiles.count + touchedDirectories.count }
    }

    private struct State {
        var projects: [String: Watched] = [:]
        /// Watch descriptor → project.
        var owners: [Int32: String] = [:]
        var uses: UInt64 = 0
        var counts = Counts()
    }

    /// How listings were made, since the start: for logs, metrics and tests.
    struct Counts: Sendable, Equatable {
        /// Whole trees listed (and watched from then on).
        var listed = 0
        /// Listings brought up to date from the events alone.
        var refreshed = 0
        /// Paths read again for a refresh.
        var touchedPaths = 0
    }

    /// How listings were made so far.
    var counts: Counts { state.withLock { $0.counts } }

    /// What inotify reports for a watched directory.
    private static let mask: UInt32 =
        UInt32(IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)
        | UInt32(IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW)

    init(minimumFiles: Int, maximumProjects: Int = 16, logger: Logger) {
        self.minimumFiles = minimumFiles
        self.maximumProjects = maximumProjects
        self.logger = logger
        descriptor = minimumFiles > 0 ? inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC)) : -1
        if minimumFiles > 0, descriptor < 0 {
            logger.warning(
                "cannot watch working directories; every sync lists its whole tree",
                metadata: ["error": "\(String(cString: strerror(errno)))"]
            )
        }
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// The files and directories of `root` (project `projectID`), as a sync needs them: from the
    /// watch when it can vouch for them, else listed (and, for a tree of at least
    /// `minimumFiles` files — `expectedFiles` says how many it had — watched from now on).
    func listing(
        projectID: String,
        root: String,
        expectedFiles: Int
    ) throws(FileSystem.Failure)
        -> FileSystem.Listing
    {
        guard descriptor >= 0, expectedFiles >= minimumFiles else {
            forget(projectID)
            return try FileSystem.listTreeWithDirectories(root, expectedFiles: expectedFiles)
        }
        return try lock(projectID).mutex.withLock { _ throws(FileSystem.Failure) in
            readEvents()
            if let listing = refreshed(projectID, root: root) { return listing }
            return try establish(projectID, root: root, expectedFiles: expectedFiles)
        }
    }

    /// Marks `paths` as touched: changes that made no event in the tree (the ctime a hard link's
    /// removal elsewhere gives a file).
    func touched(projectID: String, paths: some Sequence<String>) {
        state.withLock { state in
            guard var watched = state.projects[projectID] else { return }
            watched.touchedFiles.formUnion(paths)
            state.projects[projectID] = Self.checked(watched)
        }
    }

    /// Stops watching the project's tree (its watches' events are ignored from now on).
    func forget(_ projectID: String) {
        let removed = state.withLock { state -> Watched? in
            guard let watched = state.projects.removeValue(forKey: projectID) else { return nil }
            for descriptor in watched.directories.keys { state.owners[descriptor] = nil }
            return watched
        }
        for watch in removed.map({ Array($0.directories.keys) }) ?? [] { inotify_rm_watch(descriptor, watch) }
    }

    /// How many trees are watched now.
    var watchedProjects: Int { state.withLock { $0.projects.count } }

    // MARK: - Listing

    /// The project's listing brought up to date from its touched paths, or nil when the watch
    /// cannot vouch for it.
    private func refreshed(_ projectID: String, root: String) -> FileSystem.Listing? {
        let rootInode = FileSystem.info(root).map { UInt64($0.inode) }
        let taken = state.withLock { state -> (FileSystem.Listing, Set<String>, Set<String>)? in
            guard var watched = state.projects[projectID] else { return nil }
            guard watched.trusted, watched.root == root, watched.rootInode == rootInode,
                let listing = watched.listing
            else { return nil }
            let touched = (watched.touchedFiles, watched.touchedDirectories)
            watched.listing = nil
            watched.touchedFiles = []
            watched.touchedDirectories = []
            state.uses += 1
            watched.lastUsed = state.uses
            state.projects[projectID] = watched
            return (listing, touched.0, touched.1)
        }
        guard case (var listing, var files, let directories)? = taken else { return nil }
        do throws(FileSystem.Failure) {
            try apply(files: &files, directories: directories, to: &listing, projectID: projectID, root: root)
        } catch {
            return nil
        }
        let kept = state.withLock { state -> Bool in
            guard var watched = state.projects[projectID], watched.trusted else { return false }
            watched.listing = listing
            state.projects[projectID] = watched
            state.counts.refreshed += 1
            state.counts.touchedPaths += files.count + directories.count
            return true
        }
        guard kept else { return nil }
        logger.debug(
            "working directory listed from its watch",
            metadata: [
                "project.id": "\(projectID)", "tree.touched_files": "\(files.count)",
                "tree.touched_directories": "\(directories.count)",
            ]
        )
        return listing
    }

    /// Reads the touched paths again into `listing`: a touched directory's whole subtree (with
    /// watches for new directories), then each touched file.
    private func apply(
        files: inout Set<String>,
        directories: Set<String>,
        to listing: inout FileSystem.Listing,
        projectID: String,
        root: String
    ) throws(FileSystem.Failure) {
        // What the listing had under a touched directory goes; what is there now comes back.
        let known = directories.filter { listing.directories.contains($0) }
        if !known.isEmpty {
            func isUnder(_ path: String) -> Bool {
                var parent = Substring(path)
                while let slash = parent.lastIndex(of: "/") {
                    parent = parent[..<slash]
                    if known.contains(String(parent)) { return true }
                }
                return false
            }
            listing.files = listing.files.filter { !isUnder($0.key) }
            listing.directories = listing.directories.filter { !known.contains($0) && !isUnder($0) }
        }
        var failed = false
        for directory in directories.sorted() {
            guard let info = FileSystem.info("\(root)/\(directory)") else { continue }
            guard info.kind == .directory else {
                files.insert(directory)
                continue
            }
            // A directory under a deleted or unlisted one is not part of the tree.
            if let slash = directory.lastIndex(of: "/"),
                !listing.directories.contains(String(directory[..<slash]))
            {
                continue
            }
            if listing.directories.contains(directory) { continue }  // listed with a parent
            let subtree = try FileSystem.listTreeWithDirectories(root, under: directory) { relative in
                if !self.watch(projectID, root: root, relative) { failed = true }
            }
            listing.directories.insert(directory)
            listing.directories.formUnion(subtree.directories)
            listing.files.merge(subtree.files) { _, new in new }
        }
        if failed { throw FileSystem.Failure(call: "inotify_add_watch", path: root, code: ENOSPC) }
        for path in files {
            if let slash = path.lastIndex(of: "/"), !listing.directories.contains(String(path[..<slash])) {
                listing.files[path] = nil
                continue
            }
            switch FileSystem.info("\(root)/\(path)") {
            case nil:
                listing.files[path] = nil
            case let info? where info.kind == .directory && listing.directories.contains(path):
                listing.files[path] = nil  // a file replaced by a directory, listed above
            case let info? where info.kind == .directory:
                // A directory where a file was, with no event of its own: read whole.
                throw FileSystem.Failure(call: "lstat", path: "\(root)/\(path)", code: EISDIR)
            case let info?:
                listing.files[path] = info
            }
        }
    }

    /// Lists `root`, adding a watch to each directory before reading it, and keeps the listing.
    private func establish(
        _ projectID: String,
        root: String,
        expectedFiles: Int
    ) throws(FileSystem.Failure)
        -> FileSystem.Listing
    {
        forget(projectID)
        makeRoom()
        guard let rootInfo = FileSystem.info(root) else {
            throw FileSystem.Failure(call: "lstat", path: root, code: ENOENT)
        }
        state.withLock { state in
            state.uses += 1
            var watched = Watched(root: root, rootInode: UInt64(rootInfo.inode))
            watched.lastUsed = state.uses
            state.projects[projectID] = watched
        }
        var failed = false
        let listing = try FileSystem.listTreeWithDirectories(root, expectedFiles: expectedFiles) { relative in
            if !failed, !self.watch(projectID, root: root, relative) { failed = true }
        }
        if failed {
            logger.warning(
                "cannot watch the working directory; its syncs list the whole tree",
                metadata: [
                    "project.id": "\(projectID)",
                    "hint": "raise fs.inotify.max_user_watches, or lower the number of watched trees",
                ]
            )
            forget(projectID)
            return listing
        }
        state.withLock { state in
            guard var watched = state.projects[projectID] else { return }
            watched.listing = listing
            state.projects[projectID] = Self.checked(watched)
            state.counts.listed += 1
        }
        logger.debug(
            "working directory listed whole and watched from now on",
            metadata: ["project.id": "\(projectID)", "tree.files": "\(listing.files.count)"]
        )
        return listing
    }

    /// Adds the watch of one directory; false when the kernel refuses it.
    private func watch(_ projectID: String, root: String, _ relative: String) -> Bool {
        let path = relative.isEmpty ? root : "\(root)/\(relative)"
        let watch = inotify_add_watch(descriptor, path, Self.mask)
        guard watch >= 0 else { return errno == ENOENT }  // gone meanwhile: its parent's event says so
        state.withLock { state in
            guard var watched = state.projects[projectID] else { return }
            // A directory renamed within the tree keeps its descriptor: the new path replaces the old.
            watched.directories[watch] = relative
            state.owners[watch] = projectID
            state.projects[projectID] = watched
        }
        return true
    }

    /// Stops watching the least recently used tree when `maximumProjects` are watched.
    private func makeRoom() {
        let oldest = state.withLock { state -> String? in
            guard state.projects.count >= maximumProjects else { return nil }
            return state.projects.min { $0.value.lastUsed < $1.value.lastUsed }?.key
        }
        if let oldest { forget(oldest) }
    }

    private func lock(_ projectID: String) -> ProjectLock {
        projectLocks.withLock { locks in
            if let lock = locks[projectID] { return lock }
            let lock = ProjectLock()
            locks[projectID] = lock
            return lock
        }
    }

    /// `watched`, distrusted when more was touched than re-reading saves.
    private static func checked(_ watched: Watched) -> Watched {
        let limit = max(1000, Int(Double(watched.listing?.files.count ?? 0) * maximumTouchedShare))
        guard watched.touchedCount > limit else { return watched }
        var distrusted = watched
        distrusted.trusted = false
        distrusted.touchedFiles = []
        distrusted.touchedDirectories = []
        return distrusted
    }

    // MARK: - Events

    /// Reads every queued event (the queue is non-blocking) and notes what it touched.
    private func readEvents() {
        reading.withLock { _ in
            var buffer = [UInt8](repeating: 0, count: 64 << 10)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                guard count > 0 else { break }
                buffer.withUnsafeBytes { bytes in
                    state.withLock { state in Self.handle(bytes.prefix(count), in: &state) }
                }
            }
        }
    }

    /// Notes the events in `bytes` (whole `struct inotify_event`s, as `read` returns them).
    private static func handle(_ bytes: Slice<UnsafeRawBufferPointer>, in state: inout State) {
        var offset = bytes.startIndex
        let header = MemoryLayout<inotify_event>.size
        while offset + header <= bytes.endIndex {
            let watch = bytes.base.loadUnaligned(fromByteOffset: offset, as: Int32.self)
            let mask = bytes.base.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
            let length = Int(bytes.base.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
            let nameBytes = bytes.base[(offset + header)..<min(offset + header + length, bytes.endIndex)]
            let name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
            offset += header + length
            if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                for key in Array(state.projects.keys) { state.projects[key]?.trusted = false }
                continue
            }
            guard let projectID = state.owners[watch], var watched = state.projects[projectID],
                let directory = watched.directories[watch]
            else { continue }
            defer { state.projects[projectID] = checked(watched) }
            if mask & UInt32(IN_IGNORED) != 0 {
                watched.directories[watch] = nil
                state.owners[watch] = nil
                if directory.isEmpty { watched.trusted = false }
                continue
            }
            if mask & UInt32(IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT) != 0 {
                // A directory within the tree is reported by its parent too; the root is not.
                if directory.isEmpty { watched.trusted = false }
                continue
            }
            guard !name.isEmpty, !(directory.isEmpty && name == ".git") else { continue }
            let path = directory.isEmpty ? name : "\(directory)/\(name)"
            if mask & UInt32(IN_ISDIR) != 0 {
                watched.touchedDirectories.insert(path)
            } else {
                watched.touchedFiles.insert(path)
            }
        }
    }
}
