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
        for (position, path) in outgoing.enumerated() {
            try FileSystem.makeDirectories(parent(of: "\(changes.backup)/\(path)"))
            try FileSystem.rename("\(work)/\(path)", "\(changes.backup)/\(path)")
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
        for path in changes.replaced + changes.removed
        where FileSystem.info("\(changes.backup)/\(path)") != nil {
            try FileSystem.makeDirectories(parent(of: "\(work)/\(path)"))
            // Replaces the new file, when it had arrived, in one step.
            try FileSystem.rename("\(changes.backup)/\(path)", "\(work)/\(path)")
        }
        for directory in changes.createdDirectories.reversed() {
            _ = rmdir("\(work)/\(directory)")
        }
        try FileSystem.removeTree(changes.backup)
        try FileSystem.removeTree(staging)
    }

    private static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return String(path[..<slash])
    }
}
