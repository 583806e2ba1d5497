import CGit2
import Synchronization

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

    deinit {
        git_repository_free(handle)
    }

    /// Stages the whole work tree (additions, changes, deletions; `.gitignore` respected),
    /// commits it on HEAD, and adds an annotated tag. Returns the commit id (40 hex digits).
    func commitAll(
        message: String,
        tag: String,
        tagMessage: String,
        authorName: String,
        authorEmail: String
    ) throws(GitError) -> String {
        var index: OpaquePointer?
        try Self.check("index", git_repository_index(&index, handle))
        defer { git_index_free(index) }
        try withPathspec(["*"]) { (spec) throws(GitError) in
            try Self.check("add", git_index_add_all(index, spec, GIT_INDEX_ADD_DEFAULT.rawValue, nil, nil))
            try Self.check("update", git_index_update_all(index, spec, nil, nil))
        }
        try Self.check("write index", git_index_write(index))
        var treeID = git_oid()
        try Self.check("write tree", git_index_write_tree(&treeID, index))
        var tree: OpaquePointer?
        try Self.check("lookup tree", git_tree_lookup(&tree, handle, &treeID))
        defer { git_tree_free(tree) }

        var signature: UnsafeMutablePointer<git_signature>?
        try Self.check("signature", git_signature_now(&signature, authorName, authorEmail))
        defer { git_signature_free(signature) }

        var parentID = git_oid()
        var parent: OpaquePointer?
        if git_reference_name_to_id(&parentID, handle, "HEAD") == 0 {
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
                    message,
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
        try Self.check("tag", git_tag_create(&tagID, handle, tag, commit, signature, tagMessage, 1))
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
