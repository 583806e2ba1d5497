import CGit2
import Synchronization

/// A file of a tree about to be committed: path, git mode and blob id.
struct TreeFile: @unchecked Sendable {
    // @unchecked: git_oid is a plain C struct of bytes.
    let path: String
    /// 0o100644, 0o100755 or 0o120000.
    let mode: UInt32
    let id: git_oid
}

/// What a commit records: its message (also the annotated tag's), the tag, and the author.
struct CommitDescription: Sendable {
    let message: String
    let tag: String
    let authorName: String
    let authorEmail: String
}

/// One change of an in-place commit, for deriving its tree from the previous commit's.
struct TreeUpdate {
    enum Change {
        case upsert(git_oid, mode: UInt32)
        case remove
    }

    let path: String
    let change: Change
}

/// What the index knew about a file.
struct IndexedFile: @unchecked Sendable {
    // @unchecked: git_oid is a plain C struct of bytes.
    let id: git_oid
    let size: UInt32
    let mtimeSeconds: Int32
    let mtimeNanoseconds: UInt32
    let inode: UInt32
    let mode: UInt32
}

/// A libgit2 failure, carrying libgit2's own message.
struct GitError: Error, CustomStringConvertible {
    let operation: String
    let code: Int32
    let message: String
    var description: String { "git \(operation) failed (\(code)): \(message)" }
}

/// A git repository opened with libgit2: the only type that touches libgit2.
///
/// Blocking; callers run it on a thread pool. Not `Sendable`: one owner at a time.
final class GitRepository {
    private let handle: OpaquePointer

    private static let initialised: Bool = {
        git_libgit2_init()
        // libgit2 maps pack files in 1 GiB windows up to 8 GiB by default: reading one object
        // of a gigabyte pack (a media site's) would count its pages in the agent's RSS. Small
        // windows keep that to a few megabytes; reads of big packs only remap more often.
        _ = rollback_git_set_pack_windows(4 << 20, 32 << 20)
        return true
    }()

    /// Opens the repository whose work tree is `path`, creating one when there is none.
    init(workTree path: String) throws(GitError) {
        _ = Self.initialised
        var repository: OpaquePointer?
        let openCode = git_repository_open_ext(&repository, path, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil)
        if openCode == GIT_ENOTFOUND.rawValue {
            try Self.check("init", git_repository_init(&repository, path, 0))
        } else {
            try Self.check("open", openCode)
        }
        handle = repository!
    }

    /// Opens the repository of `path` (creating it when missing) with new objects written to
    /// `objectsDirectory` instead of `.git/objects`, so that nothing in `.git` changes until
    /// `adoptObjects(from:)` moves them in. Existing objects are still found.
    convenience init(workTree path: String, writingObjectsTo objectsDirectory: String) throws(GitError) {
        try self.init(workTree: path)
        try FileSystem.makeDirectories(
            objectsDirectory,
            mode: 0o755,
            orThrow: GitError(operation: "mkdir", code: -1, message: objectsDirectory)
        )
        var odb: OpaquePointer?
        try Self.check("odb", git_repository_odb(&odb, handle))
        defer { git_odb_free(odb) }
        var backend: OpaquePointer?
        try Self.check("staging object store", git_odb_backend_loose(&backend, objectsDirectory, -1, 0, 0, 0))
        // The highest priority: writes go here first.
        try Self.check("add object store", git_odb_add_backend(odb, backend, 1000))
    }

    deinit {
        git_repository_free(handle)
    }

    /// Stages the whole work tree by scanning it (additions, changes, deletions; `.gitignore`
    /// respected), commits on HEAD and tags. The slow, general path, used by crash recovery.
    func commitAll(_ description: CommitDescription) throws(GitError) -> String {
        try withIndex { (index) throws(GitError) in
            try withPathspec(["*"]) { (spec) throws(GitError) in
                try Self.check(
                    "add",
                    git_index_add_all(index, spec, GIT_INDEX_ADD_DEFAULT.rawValue, nil, nil)
                )
                try Self.check("update", git_index_update_all(index, spec, nil, nil))
            }
            return try commitIndex(index, description)
        }
    }

    /// Replaces the index with exactly `files` (whose blobs are already in the object database),
    /// taking each file's stat data from the work tree, then commits on HEAD and tags. No file
    /// is read again. Paths that `.gitignore` ignores and that were not tracked are left out, as
    /// `git add -A` would.
    func commit(files: [TreeFile], _ description: CommitDescription) throws(GitError) -> String {
        let root = workTreePath
        return try withIndex { (index) throws(GitError) in
            // Entries whose blob and mode are unchanged stay as they are: only the files that
            // differ are re-stat'ed and re-added (the stat data of the others are refreshed by
            // the clean-up after the answer). Paths gone from the tree are removed.
            var tracked: [String: (id: git_oid, mode: UInt32)] = [:]
            for position in 0..<git_index_entrycount(index) {
                if let entry = git_index_get_byindex(index, position)?.pointee {
                    tracked[String(cString: entry.path)] = (entry.id, entry.mode)
                }
            }
            let kept = Set(files.map(\.path))
            for path in tracked.keys where !kept.contains(path) {
                try Self.check("remove \(path)", git_index_remove_bypath(index, path))
            }
            for file in files {
                if let known = tracked[file.path] {
                    if known.mode == file.mode, Self.same(known.id, file.id) { continue }
                } else {
                    var ignored: Int32 = 0
                    if git_ignore_path_is_ignored(&ignored, handle, file.path) == 0, ignored == 1 { continue }
                }
                try Self.add(file, statOf: "\(root)/\(file.path)", to: index)
            }
            return try commitIndex(index, description)
        }
    }

    /// Commits an in-place change of the index's tree: `removed` paths leave the index and
    /// `files` (blobs already in the object database) replace or join their entries; every other
    /// entry stays as it is, so the cost follows the change, not the tree. `treePaths` (a lazy
    /// list of every path of the new tree) is walked only when the index holds a path the tree
    /// does not (an entry for a file gone behind git's back): the counts tell.
    func commit(
        replacing files: [TreeFile],
        removing removed: [String],
        treePathCount: Int,
        treePaths: () -> [String],
        _ description: CommitDescription
    ) throws(GitError) -> String {
        let root = workTreePath
        return try withIndex { (index) throws(GitError) in
            // The same changes, for the tree (see `CommittedIndexMemo`); nil where a path would
            // turn between file and directory, which only the index's way handles.
            var updates: [TreeUpdate]? = []
            for path in removed where git_index_get_bypath(index, path, 0) != nil {
                try Self.check("remove \(path)", git_index_remove_bypath(index, path))
                updates?.append(TreeUpdate(path: path, change: .remove))
            }
            var ignoredPaths = 0
            for file in files {
                if git_index_get_bypath(index, file.path, 0) == nil {
                    var ignored: Int32 = 0
                    if git_ignore_path_is_ignored(&ignored, handle, file.path) == 0, ignored == 1 {
                        ignoredPaths += 1
                        continue
                    }
                    if Self.clashes(file.path, in: index) { updates = nil }
                }
                try Self.add(file, statOf: "\(root)/\(file.path)", to: index)
                updates?.append(TreeUpdate(path: file.path, change: .upsert(file.id, mode: file.mode)))
            }
            // Every path of the new tree is in the index now but the ignored ones left out; more
            // entries than that means some are not in the tree.
            if git_index_entrycount(index) != treePathCount - ignoredPaths {
                let tree = Set(treePaths())
                var stale: [String] = []
                for position in 0..<git_index_entrycount(index) {
                    if let entry = git_index_get_byindex(index, position)?.pointee {
                        let path = String(cString: entry.path)
                        if !tree.contains(path) { stale.append(path) }
                    }
                }
                for path in stale {
                    try Self.check("remove \(path)", git_index_remove_bypath(index, path))
                    updates?.append(TreeUpdate(path: path, change: .remove))
                }
            }
            return try commitIndex(index, description, updates: updates)
        }
    }

    /// The index's entries for `paths`, looked up one by one (nil where it has none): for
    /// checking a few files, or many without building a table of the whole index.
    func indexedFiles(at paths: [String]) -> [IndexedFile?] {
        indexedFilesIfReadable(at: paths) ?? []
    }

    /// `indexedFiles(at:)`, or nil when the index cannot be read.
    func indexedFilesIfReadable(at paths: [String]) -> [IndexedFile?]? {
        try? withIndex { (index) throws(GitError) in
            var result: [IndexedFile?] = []
            result.reserveCapacity(paths.count)
            for path in paths {
                result.append(git_index_get_bypath(index, path, 0).map { Self.indexedFile($0.pointee) })
            }
            return result
        }
    }

    private static func indexedFile(_ entry: git_index_entry) -> IndexedFile {
        IndexedFile(
            id: entry.id,
            size: entry.file_size,
            mtimeSeconds: entry.mtime.seconds,
            mtimeNanoseconds: entry.mtime.nanoseconds,
            inode: entry.ino,
            mode: entry.mode
        )
    }

    /// Sets `core.trustctime = false` unless it is already so: git then compares a file's
    /// mtime, size, inode and mode, not its ctime, which a link count change (the old tree's
    /// deletion) moves without changing the file.
    func ignoreCtimeInStatData() throws(GitError) {
        var config: OpaquePointer?
        try Self.check("config", git_repository_config(&config, handle))
        defer { git_config_free(config) }
        var trusted: Int32 = 1
        if git_config_get_bool(&trusted, config, "core.trustctime") == 0, trusted == 0 { return }
        try Self.check("set core.trustctime", git_config_set_bool(config, "core.trustctime", 0))
    }

    /// Stat data and blob ids of the current index, to trust the id of a file whose stat data
    /// still match (as git does) instead of hashing it again.
    func indexedFiles() -> [String: IndexedFile] {
        var result: [String: IndexedFile] = [:]
        try? withIndex { (index) throws(GitError) in
            for position in 0..<git_index_entrycount(index) {
                guard let entry = git_index_get_byindex(index, position)?.pointee else { continue }
                result[String(cString: entry.path)] = Self.indexedFile(entry)
            }
        }
        return result
    }

    /// Writes a blob of `size` bytes, streamed by `produce`, and returns its id.
    func writeBlob(
        size: UInt64,
        produce: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws -> git_oid {
        var odb: OpaquePointer?
        try Self.check("odb", git_repository_odb(&odb, handle))
        defer { git_odb_free(odb) }
        var stream: UnsafeMutablePointer<git_odb_stream>?
        try Self.check("open blob stream", git_odb_open_wstream(&stream, odb, size, GIT_OBJECT_BLOB))
        defer { git_odb_stream_free(stream) }
        try produce { chunk in
            let code = chunk.withMemoryRebound(to: CChar.self) {
                git_odb_stream_write(stream, $0.baseAddress, $0.count)
            }
            try Self.check("write blob", code)
        }
        var id = git_oid()
        try Self.check("finish blob", git_odb_stream_finalize_write(&id, stream))
        return id
    }

    /// Hashes a file of the work tree (or any path) into a blob and returns its id.
    func blob(fromFile path: String) throws(GitError) -> git_oid {
        var id = git_oid()
        try Self.check("blob \(path)", git_blob_create_from_disk(&id, handle, path))
        return id
    }

    /// Writes a blob holding `bytes` (a symlink's target).
    func blob(bytes: [UInt8]) throws(GitError) -> git_oid {
        var id = git_oid()
        try Self.check(
            "blob",
            bytes.withUnsafeBytes { git_blob_create_from_buffer(&id, handle, $0.baseAddress, $0.count) }
        )
        return id
    }

    private var workTreePath: String {
        guard let path = git_repository_workdir(handle) else { return "." }
        var text = String(cString: path)
        if text.hasSuffix("/") { text.removeLast() }
        return text
    }

    private func withIndex<T>(_ body: (OpaquePointer?) throws(GitError) -> T) throws(GitError) -> T {
        var index: OpaquePointer?
        try Self.check("index", git_repository_index(&index, handle))
        defer { git_index_free(index) }
        // The repository keeps the index it read: read again only if the file changed since
        // (a handle opened before the sync's swap, reused by its commit).
        try Self.check("read index", git_index_read(index, 0))
        return try body(index)
    }

    /// `git_index_write_tree`, but the trees it writes go into one new pack instead of a loose
    /// object each: a change along a hundred paths of a tree of thousands of directories writes
    /// hundreds of trees, and each loose object is a new file (slow to allocate on ext4 right
    /// after a deletion, as the previous sync's clean-up is). The trees are written into memory
    /// through a second handle; those the repository lacks are then packed into
    /// `.git/objects/pack` before anything refers to them. Fills the index's tree cache as
    /// `git_index_write_tree` does.
    private func writeTreeAsPack(_ index: OpaquePointer?) throws(GitError) -> git_oid {
        try writeTreesAsPack { (scratch) throws(GitError) in
            var treeID = git_oid()
            try Self.check("write tree", git_index_write_tree_to(&treeID, index, scratch))
            return treeID
        }
    }

    /// The tree of `commit` with `updates` applied, its new trees packed as `writeTreeAsPack`
    /// packs them: only the trees along the updated paths are read and written.
    private func writeUpdatedTree(of commit: git_oid, _ updates: [TreeUpdate]) throws(GitError) -> git_oid {
        try writeTreesAsPack { (scratch) throws(GitError) in
            var commitID = commit
            var base: OpaquePointer?
            try Self.check("lookup commit", git_commit_lookup(&base, scratch, &commitID))
            defer { git_commit_free(base) }
            var baseline: OpaquePointer?
            try Self.check("commit tree", git_commit_tree(&baseline, base))
            defer { git_tree_free(baseline) }
            let paths = updates.map { strdup($0.path) }
            defer { paths.forEach { free($0) } }
            let raw = zip(updates, paths).map { update, path in
                switch update.change {
                case .upsert(let id, let mode):
                    git_tree_update(
                        action: GIT_TREE_UPDATE_UPSERT,
                        id: id,
                        filemode: git_filemode_t(rawValue: mode),
                        path: path
                    )
                case .remove:
                    git_tree_update(
                        action: GIT_TREE_UPDATE_REMOVE,
                        id: git_oid(),
                        filemode: GIT_FILEMODE_UNREADABLE,
                        path: path
                    )
                }
            }
            var treeID = git_oid()
            try Self.check(
                "update tree",
                raw.withUnsafeBufferPointer {
                    git_tree_create_updated(&treeID, scratch, baseline, $0.count, $0.baseAddress)
                }
            )
            return treeID
        }
    }

    /// Whether adding `path` to `index` (where it has no entry) would turn a path between file
    /// and directory: a parent of it is a file there, or it is a directory there.
    private static func clashes(_ path: String, in index: OpaquePointer?) -> Bool {
        var prefix = Substring(path)
        while let slash = prefix.lastIndex(of: "/") {
            prefix = prefix[..<slash]
            if git_index_get_bypath(index, String(prefix), 0) != nil { return true }
        }
        var position = 0
        return git_index_find_prefix(&position, index, "\(path)/") == 0
    }

    /// Writes a tree through `write` (given a handle whose new objects stay in memory) and packs
    /// the trees it made that the repository lacks.
    private func writeTreesAsPack(
        _ write: (OpaquePointer?) throws(GitError) -> git_oid
    ) throws(GitError) -> git_oid {
        var scratch: OpaquePointer?
        try Self.check("open", git_repository_open(&scratch, git_repository_path(handle)))
        defer { git_repository_free(scratch) }
        var scratchODB: OpaquePointer?
        try Self.check("odb", git_repository_odb(&scratchODB, scratch))
        defer { git_odb_free(scratchODB) }
        var memory: OpaquePointer?
        try Self.check("mempack", git_mempack_new(&memory))
        // The highest priority: new objects are written there. The database owns it from here.
        try Self.check("add mempack", git_odb_add_backend(scratchODB, memory, 1000))
        var treeID = try write(scratch)

        var odb: OpaquePointer?
        try Self.check("odb", git_repository_odb(&odb, handle))
        defer { git_odb_free(odb) }
        // The new trees: a tree the repository has brings all its subtrees with it.
        var newTrees: [(id: git_oid, bytes: [UInt8])] = []
        var pending = [treeID]
        while var id = pending.popLast() {
            guard git_odb_exists(odb, &id) == 0 else { continue }
            var object: OpaquePointer?
            try Self.check("read tree", git_odb_read(&object, scratchODB, &id))
            defer { git_odb_object_free(object) }
            let bytes = [UInt8](
                UnsafeRawBufferPointer(start: git_odb_object_data(object), count: git_odb_object_size(object))
            )
            newTrees.append((id, bytes))
            var tree: OpaquePointer?
            try Self.check("lookup tree", git_tree_lookup(&tree, scratch, &id))
            defer { git_tree_free(tree) }
            for position in 0..<git_tree_entrycount(tree) {
                guard let entry = git_tree_entry_byindex(tree, position),
                    git_tree_entry_type(entry) == GIT_OBJECT_TREE
                else { continue }
                pending.append(git_tree_entry_id(entry).pointee)
            }
        }
        guard !newTrees.isEmpty else { return treeID }
        do {
            let pack = try PackWriter(
                directory: "\(String(cString: git_repository_path(handle)))objects/pack",
                count: newTrees.count,
                name: "trees-\(getpid())"
            )
            for tree in newTrees {
                let written = try pack.addObject(.tree, size: UInt64(tree.bytes.count)) { write in
                    try tree.bytes.withUnsafeBytes { try write($0) }
                }
                guard Self.same(written, tree.id) else {
                    throw PackWriter.WriteError(description: "a tree packed under another id")
                }
            }
            _ = try pack.finish()
        } catch {
            throw GitError(operation: "pack trees", code: -1, message: "\(error)")
        }
        // The database lists its packs when opened; it learns of the new one by a refresh.
        try Self.check("refresh", git_odb_refresh(odb))
        guard git_odb_exists(odb, &treeID) == 1 else {
            throw GitError(
                operation: "pack trees",
                code: -1,
                message: "the tree \(Self.hex(treeID)) is not readable"
            )
        }
        return treeID
    }

    /// HEAD's commit, when the index on disk is known to hold exactly its tree: this process
    /// committed it and wrote that index, and neither has changed since (`CommittedIndexMemo`).
    func commitMatchingIndex() -> git_oid? {
        var head = git_oid()
        guard git_reference_name_to_id(&head, handle, "HEAD") == 0 else { return nil }
        let gitDirectory = String(cString: git_repository_path(handle))
        return CommittedIndexMemo.commit(
            repository: gitDirectory,
            indexPath: "\(gitDirectory)index",
            head: head
        )
    }

    /// Commits the index on HEAD and tags the commit. `updates`: the changes made to the index
    /// since it was read, when they are all it changed; the tree is then HEAD's with them
    /// applied, if the index is known to hold HEAD's tree (`CommittedIndexMemo`).
    private func commitIndex(
        _ index: OpaquePointer?,
        _ description: CommitDescription,
        updates: [TreeUpdate]? = nil
    ) throws(GitError) -> String {
        var parentID = git_oid()
        let hasParent = git_reference_name_to_id(&parentID, handle, "HEAD") == 0
        let gitDirectory = String(cString: git_repository_path(handle))
        let indexPath = "\(gitDirectory)index"
        // The tree first. From the index, writing it fills the index's tree cache, which the
        // index then saves (its TREE extension), so the next commit rewrites only the trees
        // along changed paths.
        var treeID: git_oid
        if let updates, let base = commitMatchingIndex(),
            let updated = try? writeUpdatedTree(of: base, updates)
        {
            treeID = updated
        } else {
            treeID = try writeTreeAsPack(index)
        }
        try Self.check("write index", git_index_write(index))
        var tree: OpaquePointer?
        try Self.check("lookup tree", git_tree_lookup(&tree, handle, &treeID))
        defer { git_tree_free(tree) }

        var signature: UnsafeMutablePointer<git_signature>?
        try Self.check(
            "signature",
            git_signature_now(&signature, description.authorName, description.authorEmail)
        )
        defer { git_signature_free(signature) }

        var parent: OpaquePointer?
        if hasParent {
            try Self.check("lookup HEAD", git_commit_lookup(&parent, handle, &parentID))
        }
        defer { if let parent { git_commit_free(parent) } }

        var commitID = git_oid()
        var parents: [OpaquePointer?] = parent.map { [$0] } ?? []
        try Self.check(
            "commit",
            parents.withUnsafeMutableBufferPointer { buffer in
                git_commit_create(
                    &commitID,
                    handle,
                    "HEAD",
                    signature,
                    signature,
                    nil,
                    description.message,
                    tree,
                    buffer.count,
                    buffer.baseAddress
                )
            }
        )
        var commit: OpaquePointer?
        try Self.check("lookup commit", git_object_lookup(&commit, handle, &commitID, GIT_OBJECT_COMMIT))
        defer { git_object_free(commit) }
        var tagID = git_oid()
        // force: a job retried after a crash re-tags its own commit.
        try Self.check(
            "tag",
            git_tag_create(&tagID, handle, description.tag, commit, signature, description.message, 1)
        )
        CommittedIndexMemo.record(repository: gitDirectory, indexPath: indexPath, commit: commitID)
        return Self.hex(commitID)
    }

    /// Whether `refs/tags/<name>` exists.
    func hasTag(_ name: String) -> Bool {
        var reference: OpaquePointer?
        guard git_reference_lookup(&reference, handle, "refs/tags/\(name)") == 0 else { return false }
        git_reference_free(reference)
        return true
    }

    /// The commit HEAD points at, as 40 hex digits.
    func headCommitID() -> String? {
        var id = git_oid()
        guard git_reference_name_to_id(&id, handle, "HEAD") == 0 else { return nil }
        return Self.hex(id)
    }

    private func withPathspec(
        _ patterns: [String],
        _ body: (UnsafeMutablePointer<git_strarray>) throws(GitError) -> Void
    ) throws(GitError) {
        let strings = patterns.map { strdup($0) }
        defer { strings.forEach { free($0) } }
        var pointers: [UnsafeMutablePointer<CChar>?] = strings
        let failure = pointers.withUnsafeMutableBufferPointer { buffer -> GitError? in
            var array = git_strarray(strings: buffer.baseAddress, count: buffer.count)
            do throws(GitError) {
                try body(&array)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }

    private static func check(_ operation: String, _ code: Int32) throws(GitError) {
        guard code < 0 else { return }
        let message = git_error_last().map { String(cString: $0.pointee.message) } ?? "no message"
        throw GitError(operation: operation, code: code, message: message)
    }

    /// Sets `entry`'s stat data from `st` (mode and blob id are the caller's) and adds it.
    /// Adds `file` (its blob already in the database) with the stat data of the file at `path`.
    private static func add(_ file: TreeFile, statOf path: String, to index: OpaquePointer?) throws(GitError)
    {
        var st = stat()
        guard lstat(path, &st) == 0 else {
            throw GitError(operation: "stat", code: -1, message: "\(file.path) vanished from the work tree")
        }
        var entry = git_index_entry()
        entry.mode = file.mode
        entry.id = file.id
        try add(&entry, path: file.path, stat: st, to: index)
    }

    private static func add(
        _ entry: inout git_index_entry,
        path: String,
        stat st: stat,
        to index: OpaquePointer?
    ) throws(GitError) {
        entry.ctime = git_index_time(
            seconds: Int32(truncatingIfNeeded: st.st_ctim.tv_sec),
            nanoseconds: UInt32(st.st_ctim.tv_nsec)
        )
        entry.mtime = git_index_time(
            seconds: Int32(truncatingIfNeeded: st.st_mtim.tv_sec),
            nanoseconds: UInt32(st.st_mtim.tv_nsec)
        )
        entry.dev = UInt32(truncatingIfNeeded: st.st_dev)
        entry.ino = UInt32(truncatingIfNeeded: st.st_ino)
        entry.uid = st.st_uid
        entry.gid = st.st_gid
        entry.file_size = UInt32(truncatingIfNeeded: st.st_size)
        let code = path.withCString { pointer in
            entry.path = pointer
            return git_index_add(index, &entry)
        }
        try check("index \(path)", code)
    }

    private static func same(_ a: git_oid, _ b: git_oid) -> Bool {
        withUnsafeBytes(of: a) { left in withUnsafeBytes(of: b) { right in left.elementsEqual(right) } }
    }

    private static func hex(_ id: git_oid) -> String {
        var id = id
        var buffer = [CChar](repeating: 0, count: 41)
        git_oid_tostr(&buffer, 41, &id)
        return String(decoding: buffer.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

#if canImport(Glibc)
import Glibc
#endif
