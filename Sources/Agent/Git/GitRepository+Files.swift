import Foundation

/// What the agent does to a repository's files around libgit2: moving a job's staged objects
/// into `.git/objects`, and removing what a killed writer left behind. Plain file operations, no
/// libgit2 handle.
extension GitRepository {
    /// Removes what a killed writer leaves in a repository: the lock files (`index.lock`,
    /// `HEAD.lock`, `*.lock` under `refs/`), `PackWriter`'s unfinished `objects/pack/tmp-*.pack`,
    /// and a pack index whose pack was never moved into place (the index is written first). Only
    /// for a repository this process alone writes, after a crash.
    static func removeCrashLeftovers(gitDirectory: String) {
        for path in ["\(gitDirectory)/index.lock", "\(gitDirectory)/HEAD.lock"] { unlink(path) }
        let packs = "\(gitDirectory)/objects/pack"
        let names = Set((try? FileSystem.listDirectory(packs)) ?? [])
        for name in names {
            let unfinished = name.hasPrefix("tmp-") && name.hasSuffix(".pack")
            let orphanIndex =
                name.hasPrefix("pack-") && name.hasSuffix(".idx")
                && !names.contains(String(name.dropLast(4)) + ".pack")
            if unfinished || orphanIndex { unlink("\(packs)/\(name)") }
        }
        guard let refs = try? FileSystem.listTree("\(gitDirectory)/refs") else { return }
        for relative in refs.keys where relative.hasSuffix(".lock") {
            unlink("\(gitDirectory)/refs/\(relative)")
        }
    }

    /// Moves objects written to a staging object store (packs and loose objects) into
    /// `gitObjects` (`.git/objects`).
    static func adoptObjects(from staged: String, into gitObjects: String) throws {
        // Packs: the index last, so git never sees an index without its pack.
        let packs = ((try? FileSystem.listDirectory("\(staged)/pack")) ?? []).filter { $0.hasPrefix("pack-") }
            .sorted {
                $0.hasSuffix(".pack") && !$1.hasSuffix(".pack")
            }
        if !packs.isEmpty { try FileSystem.makeDirectory("\(gitObjects)/pack", mode: 0o755) }
        for name in packs where !FileSystem.exists("\(gitObjects)/pack/\(name)") {
            try FileSystem.rename("\(staged)/pack/\(name)", "\(gitObjects)/pack/\(name)")
        }
        for fanout in (try? FileSystem.listDirectory(staged)) ?? [] where fanout.utf8.count == 2 {
            let target = "\(gitObjects)/\(fanout)"
            try FileSystem.makeDirectory(target, mode: 0o755)
            for name in try FileSystem.listDirectory("\(staged)/\(fanout)") {
                if FileSystem.exists("\(target)/\(name)") { continue }  // same content, same name
                try FileSystem.rename("\(staged)/\(fanout)/\(name)", "\(target)/\(name)")
            }
        }
        try FileSystem.removeTree(staged)
    }
}
