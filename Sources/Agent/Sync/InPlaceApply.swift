#if canImport(Glibc)
import Glibc
#endif

/// Applies `InPlaceChanges` to a working directory, and undoes them after a failure or a crash.
/// Blocking: call from a thread pool.
enum InPlaceApply {
    /// Applies the changes, in the documented order. `staging` holds the new files at their
    /// relative paths. Throws on the first failure, leaving what `undo` can take back.
    static func apply(_ changes: InPlaceChanges, work: String, staging: String) throws(FileSystem.Failure) {
        for directory in changes.createdDirectories {
            try FileSystem.makeDirectory("\(work)/\(directory)")
        }
        let outgoing = changes.replaced + changes.removed
        // The old files wait flat, under their staged names: one directory, whatever their
        // depth. (Creating directories is what costs most here: ext4 is slow to allocate inodes
        // right after a tree was deleted, as the previous sync's clean-up does.)
        if !outgoing.isEmpty { try FileSystem.makeDirectories(changes.backup) }
        for (position, path) in outgoing.enumerated() {
            try FileSystem.rename("\(work)/\(path)", backedUp(path, in: changes.backup))
            if position == outgoing.count / 2 { CrashPoints.hit("in-place-mid-apply") }
        }
        for path in changes.replaced + changes.added {
            try FileSystem.rename("\(staging)/\(InPlaceChanges.stagedName(path))", "\(work)/\(path)")
        }
        for directory in changes.removedDirectories {
            // Only empty ones go: a selective sync's unselected files keep theirs.
            _ = rmdir("\(work)/\(directory)")
        }
    }

    /// Puts the old tree back, whatever part of `apply` ran: each step is checked by what
    /// exists, so running it twice (a crash during recovery) is harmless. Then removes the
    /// backup and staging trees.
    static func undo(_ changes: InPlaceChanges, work: String, staging: String) throws(FileSystem.Failure) {
        // What was added had no old file: anything at its path came from staging.
        for path in changes.added where FileSystem.info("\(work)/\(path)") != nil {
            try FileSystem.removeTree("\(work)/\(path)")
        }
        for directory in changes.removedDirectories.reversed()
        where FileSystem.info("\(work)/\(directory)") == nil {
            try FileSystem.makeDirectories("\(work)/\(directory)")
        }
        for path in changes.replaced + changes.removed {
            // Flat; or, from a journal an earlier agent wrote, at the path under the backup.
            let saved = [backedUp(path, in: changes.backup), "\(changes.backup)/\(path)"]
            guard let old = saved.first(where: { FileSystem.info($0) != nil }) else { continue }
            try FileSystem.makeDirectories(parent(of: "\(work)/\(path)"))
            // Replaces the new file, when it had arrived, in one step.
            try FileSystem.rename(old, "\(work)/\(path)")
        }
        for directory in changes.createdDirectories.reversed() {
            _ = rmdir("\(work)/\(directory)")
        }
        try FileSystem.removeTree(changes.backup)
        try FileSystem.removeTree(staging)
    }

    /// Where the old file of `path` waits during an in-place sync.
    static func backedUp(_ path: String, in backup: String) -> String {
        "\(backup)/\(InPlaceChanges.stagedName(path))"
    }

    private static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return String(path[..<slash])
    }
}
