import Crypto
import RollbackArchive
import RollbackProtocol

/// What an in-place sync changes in a working directory, recorded in the swap journal before
/// the first change so that recovery can undo every step (before the journal says `swapped`)
/// or finish the commit (after). Unchanged files and directories are never touched.
///
/// The order of application: create `createdDirectories` (parents first); move each `replaced`
/// and `removed` file to `backup` (flat, under its `stagedName`); move each `replaced` and `added` file in from the staging
/// tree; remove `removedDirectories` that are now empty (deepest first). Every step is a
/// `mkdir`, a `rename` or an `rmdir` within one file system, so each is atomic and the undo
/// can tell from what exists which steps happened.
struct InPlaceChanges: Codable, Sendable, Equatable {
    /// Paths that did not exist: the new file comes from staging.
    var added: [String]
    /// Paths whose old file goes to `backup` and whose new file comes from staging.
    var replaced: [String]
    /// Paths whose old file goes to `backup`.
    var removed: [String]
    /// Directories the new tree has and the old one has not, parents first.
    var createdDirectories: [String]
    /// Directories the old tree has and the new one has not, deepest first.
    var removedDirectories: [String]
    /// Holds the old files (flat, each under its `stagedName`), beside the working directory.
    var backup: String

    /// The name under which the new file for `path` waits in the flat staging directory.
    static func stagedName(_ path: String) -> String {
        Hex.encode(Array(Insecure.SHA1.hash(data: Array(path.utf8))))
    }

    /// A sync changing more than this share of a project's files builds a whole new tree
    /// instead (linking the unchanged files): past it, moving files one by one stops paying.
    static let maximumChangedShare = 0.25

    /// The most added and changed files an in-place sync of `plan` may have.
    static func changeLimit(for plan: ArchivePlan) -> Int {
        Int(Double(plan.items.count) * maximumChangedShare)
    }

    /// The in-place changes that turn the tree of `existingDirectories` and `diff` into the
    /// plan's, or nil when a path changes between directory and file (a rename cannot do that;
    /// the full sync does) or too much changes.
    static func decide(
        plan: ArchivePlan,
        diff: TreeComparer.Diff,
        existingDirectories: Set<String>,
        existingFiles: [String: FileSystem.Info],
        selection: PathSelection?,
        backup: String
    ) -> InPlaceChanges? {
        guard diff.changeCount <= max(changeLimit(for: plan), 1) else { return nil }
        let newDirectories = plan.directories
        // A file where a directory was, or a directory where a file was.
        if diff.added.contains(where: existingDirectories.contains)
            || diff.changed.contains(where: existingDirectories.contains)
            || newDirectories.contains(where: { existingFiles[$0] != nil })
        {
            return nil
        }
        let removedDirectories = existingDirectories.subtracting(newDirectories).filter {
            // A selective sync keeps what it does not select, directories included.
            selection?.matches($0) != false
        }
        return InPlaceChanges(
            added: diff.added,
            replaced: diff.changed,
            removed: diff.removed,
            createdDirectories: newDirectories.subtracting(existingDirectories).sorted(),
            removedDirectories: removedDirectories.sorted(by: >),
            backup: backup
        )
    }
}

/// Every path of an in-place sync's new tree, as the outcome holds them (unchanged, added,
/// changed): the commit needs their number, and the paths themselves only in a rare case.
struct InPlaceTreePaths: Sendable {
    let parts: [[String]]
    var count: Int { parts.reduce(0) { $0 + $1.count } }
    func paths() -> [String] { Array(parts.joined()) }
}
