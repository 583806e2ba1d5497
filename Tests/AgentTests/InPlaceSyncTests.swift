import Foundation
import RollbackProtocol
import RollbackTransport
import Testing

/// Small changes are applied in place: only what changed is written or moved; every other file
/// and directory of the working directory keeps its inode and its ctime (nothing linked, renamed
/// or re-created), and git ends exactly as after a whole-tree sync.
@Suite("Agent in-place sync", .serialized)
struct InPlaceSyncTests {
    /// 300 files in 60 directories, plus a file alone in `legacy/` and one to become executable.
    static func base() -> [String: String] {
        var files: [String: String] = [:]
        for index in 0..<300 {
            files["app/section\(index % 60)/page\(index).js"] = "export const page = \(index)\n"
        }
        files["legacy/only.txt"] = "going"
        files["bin/tool.sh"] = "#!/bin/sh\necho tool\n"
        return files
    }

    /// `files` with every page changed: a sync to it takes the whole-tree path.
    static func everyPageChanged(_ files: [String: String]) -> [String: String] {
        var changed = files
        for (path, content) in files where path.hasPrefix("app/") { changed[path] = content + "// v2\n" }
        return changed
    }

    /// What a file's identity on disk is: a file that was not touched keeps both.
    static func identity(_ path: String) -> String {
        var st = stat()
        lstat(path, &st)
        return "\(st.st_ino) \(st.st_ctim.tv_sec).\(st.st_ctim.tv_nsec)"
    }

    @Test("a file edited by hand while the artifact downloads slowly is still put back to the version")
    func editDuringSlowDownload() async throws {
        let agent = try AgentHarness()
        defer { agent.shutdown() }
        try await agent.start()
        let before = Self.base()
        let project = try agent.makeProject("shop", files: before)
        // Every page changes: the whole tree is taken, and the CRC cache then knows every file
        // (by size and mtime), as after any whole-tree sync.
        let v2 = Self.everyPageChanged(before)
        let first = try await agent.call(
            WorkdirSync.self,
            agent.syncParams(job: "job-1", project: "shop", artifact: try agent.makeArtifact("v2", files: v2))
        )
        #expect(first.state == .succeeded)
        // The next version changes one other file; the one edited below is the same in both.
        var v3 = v2
        v3["app/section2/page2.js"] = "export const page = 'two, changed'\n"
        let edited = "app/section5/page5.js"
        var artifact = try agent.makeArtifact("v3", files: v3)
        let file = "\(agent.artifacts)/v3.zip"
        _ = FileManager.default.createFile(atPath: file + ".hold", contents: nil)
        artifact.url = try await agent.startHeldServer() + "/v3.zip"
        let started = ContinuousClock.now
        let sync = Task {
            try await agent.call(
                WorkdirSync.self,
                agent.syncParams(
                    job: "job-2",
                    project: "shop",
                    artifact: artifact,
                    epoch: 2,
                    rollbackVersion: "v10"
                )
            )
        }
        try await waitUntil("the download to begin") {
            FileManager.default.fileExists(atPath: file + ".requested")
        }
        // The working directory was listed when the sync started; this edit comes after.
        try Data("export const page = 'edited by hand'\n".utf8)
            .write(to: URL(fileURLWithPath: "\(project)/\(edited)"))
        // Time must pass, not a condition be met: the download is to be slower than the
        // listing may be old.
        try await Task.sleep(until: started + .milliseconds(1500))
        try FileManager.default.removeItem(atPath: file + ".hold")
        let result = try await sync.value
        #expect(result.state == .succeeded)
        #expect(result.files.changed == 2, "the edited file and the version's change: \(result.files)")
        #expect(try TreeSnapshot(project, excludingGit: true) == TreeSnapshot.expected(v3, like: project))
        #expect(try Shell.git("status", "--porcelain", in: project).isEmpty)
    }

    @Test("a small change touches only the changed paths, and git agrees")
    func appliesInPlace() async throws {
        let agent = try AgentHarness()
        defer { agent.shutdown() }
        try await agent.start()
        let before = Self.base()
        let project = try agent.makeProject("shop", files: before)
        var after = before
        after["app/section1/page1.js"] = "export const page = 'one, changed'\n"
        after["app/section2/page2.js"] = "export const page = 'two, changed'\n"
        after["app/section3/page3.js"] = nil
        after["legacy/only.txt"] = nil
        after["fresh/deep/new.js"] = "export const fresh = true\n"
        after["app/section4/added.js"] = "export const added = true\n"
        let artifact = try agent.makeArtifact("v2", files: after, executable: ["bin/tool.sh"])

        let untouched = before.keys.filter { after[$0] == before[$0] && $0 != "bin/tool.sh" }
        let identities = Dictionary(
            uniqueKeysWithValues: untouched.map { ($0, Self.identity("\(project)/\($0)")) }
        )
        let quietDirectory = Self.identity("\(project)/app/section9")

        let result = try await agent.call(
            WorkdirSync.self,
            agent.syncParams(job: "job-1", project: "shop", artifact: artifact)
        )
        #expect(result.state == .succeeded)
        // Changed: two edits and the mode of bin/tool.sh; removed: two; added: two.
        #expect(result.files == .init(added: 2, changed: 3, removed: 2, unchanged: untouched.count))

        #expect(
            try TreeSnapshot(project, excludingGit: true)
                == TreeSnapshot.expected(after, like: project, executable: ["bin/tool.sh"])
        )
        #expect(!FileManager.default.fileExists(atPath: "\(project)/legacy"), "an emptied directory goes")
        let moved = untouched.filter { identities[$0] != Self.identity("\(project)/\($0)") }
        #expect(moved.isEmpty, "unchanged files were touched: \(moved.prefix(5))")
        #expect(
            Self.identity("\(project)/app/section9") == quietDirectory,
            "an unchanged directory was touched"
        )

        #expect(try Shell.git("status", "--porcelain", in: project).isEmpty)
        #expect(try Shell.git("diff-files", "--name-only", in: project).isEmpty)
        try Shell.git("fsck", "--strict", in: project)
        #expect(try Shell.git("ls-files", "-s", "bin/tool.sh", in: project).hasPrefix("100755"))
        #expect(
            try Shell.git("show", "--name-status", "--format=", "HEAD", in: project).split(separator: "\n")
                .count == 7
        )
        #expect(try Shell.git("tag", in: project).contains("rollback/v9"))
        try await waitUntil("the backup of the old files to be deleted") {
            ((try? FileManager.default.contentsOfDirectory(atPath: "\(agent.workRoot)/.rollback-staging"))
                ?? [])
                .isEmpty
        }

        // Straight back, without waiting for anything: the same in reverse.
        let back = try agent.makeArtifact("v1", files: before)
        let reverse = try await agent.call(
            WorkdirSync.self,
            agent.syncParams(job: "job-2", project: "shop", artifact: back, epoch: 2, rollbackVersion: "v10")
        )
        #expect(reverse.files == .init(added: 2, changed: 3, removed: 2, unchanged: untouched.count))
        #expect(try TreeSnapshot(project, excludingGit: true) == TreeSnapshot.expected(before, like: project))
        #expect(try Shell.git("status", "--porcelain", in: project).isEmpty)
        try Shell.git("fsck", "--strict", in: project)
        // The cache written before the answer already knows every file: nothing is read again.
        let again = try await agent.call(
            WorkdirSync.self,
            agent.syncParams(job: "job-3", project: "shop", artifact: back, epoch: 3, rollbackVersion: "v11")
        )
        #expect(again.files == .init(added: 0, changed: 0, removed: 0, unchanged: before.count))
        #expect(again.bytesWritten == 0)
    }

    @Test("a file that becomes a directory takes the whole-tree path and ends right")
    func fileBecomesDirectory() async throws {
        let agent = try AgentHarness()
        defer { agent.shutdown() }
        try await agent.start()
        var before = Self.base()
        before["docs"] = "a file for now"
        let project = try agent.makeProject("site", files: before)
        var after = before
        after["docs"] = nil
        after["docs/index.md"] = "# now a directory"
        let artifact = try agent.makeArtifact("v2", files: after)
        let result = try await agent.call(
            WorkdirSync.self,
            agent.syncParams(job: "job-d", project: "site", artifact: artifact)
        )
        #expect(result.files == .init(added: 1, changed: 0, removed: 1, unchanged: before.count - 1))
        #expect(try TreeSnapshot(project, excludingGit: true) == TreeSnapshot.expected(after, like: project))
        #expect(try Shell.git("status", "--porcelain", in: project).isEmpty)
        try Shell.git("fsck", "--strict", in: project)
    }

    @Test(
        "in place, the index is trusted only where it describes the file: stale entries are redone, stray ones dropped"
    )
    func indexTrustedOnlyWhereItHolds() async throws {
        let agent = try AgentHarness()
        defer { agent.shutdown() }
        try await agent.start()
        let before = Self.base()
        let project = try agent.makeProject("index", files: before)
        var after = before
        after["app/section1/page1.js"] = "export const page = 'changed'\n"
        after["legacy/only.txt"] = nil
        // Behind git's back: a file the new version drops is deleted (its index entry stays), an
        // unchanged one is rewritten with the same bytes (its stat data no longer match), and one
        // is edited and left unstaged, then put back as the archive has it by the sync.
        try FileManager.default.removeItem(atPath: "\(project)/legacy/only.txt")
        try Data(before["app/section5/page5.js"]!.utf8).write(
            to: URL(fileURLWithPath: "\(project)/app/section5/page5.js")
        )
        try Data("hand edit".utf8).write(to: URL(fileURLWithPath: "\(project)/app/section6/page6.js"))
        let artifact = try agent.makeArtifact("v2", files: after)
        let looseBefore = try Self.looseObjects(project)
        let result = try await agent.call(
            WorkdirSync.self,
            agent.syncParams(job: "job-i", project: "index", artifact: artifact)
        )
        #expect(result.state == .succeeded)
        #expect(try TreeSnapshot(project, excludingGit: true) == TreeSnapshot.expected(after, like: project))
        #expect(try Shell.git("status", "--porcelain", in: project).isEmpty)
        #expect(try Shell.git("ls-files", "legacy", in: project).isEmpty, "the stray entry is gone")
        #expect(try Shell.git("ls-files", in: project).split(separator: "\n").count == after.count)
        // The commit's tree is the archive's: git hashes the files itself and agrees.
        #expect(
            try Shell.git("rev-parse", "HEAD^{tree}", in: project)
                == (try Shell.git("write-tree", in: project))
        )
        try Shell.git("fsck", "--strict", in: project)
        // The trees went into a pack: the commit and its tag are the only new loose objects.
        #expect(try Self.looseObjects(project) == looseBefore + 2)
    }

    @Test(
        "in place, round after round: each commit's tree is what git makes of the files, also after git was used by hand"
    )
    func successiveCommitsMatchGit() async throws {
        let agent = try AgentHarness()
        defer { agent.shutdown() }
        try await agent.start()
        var files = Self.base()
        let project = try agent.makeProject("rounds", files: files)
        var executable: [String] = []
        // Each round a small change: the agent's commits after the first derive their tree
        // from the previous commit's, unless git was used by hand in between.
        let rounds: [(String, (inout [String: String], inout [String]) -> Void)] = [
            (
                "an edit, a new nested directory",
                { files, _ in
                    files["app/section1/page1.js"] = "export const one = 1\n"
                    files["fresh/deep/er/new.js"] = "export const fresh = true\n"
                }
            ),
            (
                "a whole directory emptied, a file made executable",
                { files, executable in
                    files["fresh/deep/er/new.js"] = nil
                    files["legacy/only.txt"] = nil
                    executable.append("bin/tool.sh")
                }
            ),
            (
                "executable no more, a file added beside others, one removed",
                { files, executable in
                    executable.removeAll()
                    files["app/section2/added.js"] = "export const added = 2\n"
                    files["app/section3/page3.js"] = nil
                }
            ),
            (
                "after a commit by hand",
                { files, _ in
                    files["app/section4/page4.js"] = "export const four = 4\n"
                }
            ),
            (
                "after the index was changed by hand",
                { files, _ in
                    files["legacy/back.txt"] = "back"
                }
            ),
        ]
        for (number, (name, change)) in rounds.enumerated() {
            if name == "after a commit by hand" {
                try Data("by hand".utf8).write(to: URL(fileURLWithPath: "\(project)/HAND.md"))
                try Shell.git("add", "HAND.md", in: project)
                try Shell.git(
                    "-c",
                    "user.name=o",
                    "-c",
                    "user.email=o@o",
                    "commit",
                    "-q",
                    "-m",
                    "hand",
                    in: project
                )
            }
            if name == "after the index was changed by hand" {
                try Shell.git("update-index", "--chmod=+x", "app/section5/page5.js", in: project)
            }
            change(&files, &executable)
            let artifact = try agent.makeArtifact("r\(number)", files: files, executable: executable)
            let result = try await agent.call(
                WorkdirSync.self,
                agent.syncParams(
                    job: "job-r\(number)",
                    project: "rounds",
                    artifact: artifact,
                    epoch: Int64(number + 1),
                    rollbackVersion: "v\(number + 10)"
                )
            )
            #expect(result.state == .succeeded, "\(name)")
            #expect(result.files.unchanged > files.count / 2, "\(name): applied in place")
            // Checked without letting git rewrite the index (as `git status` does), which would
            // send the next round the index's way: the index is HEAD's tree, and HEAD's tree is
            // what git makes of the files through an index of its own.
            #expect(
                try Shell.git("diff-index", "--cached", "--name-only", "HEAD", in: project).isEmpty,
                "\(name)"
            )
            let ownIndex = TemporaryFiles.directory(prefix: "rbk-index") + "/index"
            let environment = ["GIT_INDEX_FILE": ownIndex]
            _ = try Shell.run(
                ["git", "-c", "safe.directory=*", "add", "-A"],
                in: project,
                environment: environment
            )
            #expect(
                try Shell.git("rev-parse", "HEAD^{tree}", in: project)
                    == (try Shell.run(
                        ["git", "-c", "safe.directory=*", "write-tree"],
                        in: project,
                        environment: environment
                    )),
                "\(name)"
            )
            #expect(
                try Shell.git("ls-tree", "-r", "--name-only", "HEAD", in: project).split(separator: "\n")
                    .map(String.init).sorted() == files.keys.sorted(),
                "\(name)"
            )
            #expect(
                try Shell.git("ls-tree", "HEAD", "bin/tool.sh", in: project)
                    .hasPrefix(executable.isEmpty ? "100644" : "100755"),
                "\(name)"
            )
        }
        #expect(try Shell.git("status", "--porcelain", in: project).isEmpty)
        try Shell.git("fsck", "--strict", in: project)
    }

    @Test("with the tree watched, what changed by hand between syncs is seen and put back")
    func watchedTreeSeesHandEdits() async throws {
        let agent = try AgentHarness()
        defer { agent.shutdown() }
        try await agent.start(["--set", "watchTreesFromFiles=1"])
        let before = Self.base()
        let project = try agent.makeProject("watched", files: before)
        // Every page changes: the whole tree is taken, and watched before the answer.
        let v2 = Self.everyPageChanged(before)
        let first = try await agent.call(
            WorkdirSync.self,
            agent.syncParams(
                job: "job-w1",
                project: "watched",
                artifact: try agent.makeArtifact("v2", files: v2)
            )
        )
        #expect(first.state == .succeeded)
        #expect(agent.readLog().contains("working directory listed whole and watched from now on"))
        // Behind the agent's back: an edit, a deletion, a stray file in a new directory, a
        // directory renamed, and a file replaced by a directory.
        try Data("hand edit".utf8).write(to: URL(fileURLWithPath: "\(project)/app/section5/page5.js"))
        try FileManager.default.removeItem(atPath: "\(project)/app/section6/page6.js")
        try FileManager.default.createDirectory(
            atPath: "\(project)/stray/deep",
            withIntermediateDirectories: true
        )
        try Data("stray".utf8).write(to: URL(fileURLWithPath: "\(project)/stray/deep/file.txt"))
        try FileManager.default.moveItem(atPath: "\(project)/app/section7", toPath: "\(project)/app/moved7")
        try FileManager.default.removeItem(atPath: "\(project)/legacy/only.txt")
        try FileManager.default.createDirectory(
            atPath: "\(project)/legacy/only.txt",
            withIntermediateDirectories: true
        )
        var v3 = v2
        v3["app/section2/page2.js"] = "export const page = 'two, changed'\n"
        let second = try await agent.call(
            WorkdirSync.self,
            agent.syncParams(
                job: "job-w2",
                project: "watched",
                artifact: try agent.makeArtifact("v3", files: v3),
                epoch: 2,
                rollbackVersion: "v10"
            )
        )
        #expect(second.state == .succeeded)
        #expect(agent.readLog().contains("working directory listed from its watch"))
        #expect(try TreeSnapshot(project, excludingGit: true) == TreeSnapshot.expected(v3, like: project))
        #expect(try Shell.git("status", "--porcelain", "--ignored", in: project).isEmpty)
        try Shell.git("fsck", "--strict", in: project)
        // Once more, with nothing touched: the watch vouches for every file, nothing is written.
        let third = try await agent.call(
            WorkdirSync.self,
            agent.syncParams(
                job: "job-w3",
                project: "watched",
                artifact: try agent.makeArtifact("v3b", files: v3),
                epoch: 3,
                rollbackVersion: "v11"
            )
        )
        #expect(third.files == .init(added: 0, changed: 0, removed: 0, unchanged: v3.count))
        #expect(third.bytesWritten == 0)
        #expect(try TreeSnapshot(project, excludingGit: true) == TreeSnapshot.expected(v3, like: project))
    }

    @Test(
        "a download that is not the artifact is refused before anything is written, though it was read while hashed",
        arguments: ["small change, in place", "whole tree"]
    )
    func wrongChecksumOverHTTP(shape: String) async throws {
        let agent = try AgentHarness()
        defer { agent.shutdown() }
        try await agent.start()
        var before = Self.base()
        // A large file makes the hash slower than the reading of the central directory.
        before["media/large.bin"] = String(repeating: "0123456789abcdef", count: 2 << 20)
        let project = try agent.makeProject("checked", files: before)
        var after = before
        if shape == "whole tree" {
            after = Self.everyPageChanged(before)
        } else {
            after["app/section1/page1.js"] = "export const page = 'not what was signed'\n"
        }
        var artifact = try agent.makeArtifact("v2", files: after)
        artifact.url = try await agent.startHTTPServer() + "/v2.zip"
        artifact.sha256 = String(repeating: "ab", count: 32)
        let snapshot = try TreeSnapshot(project)
        let head = try Shell.git("rev-parse", "HEAD", in: project)
        await #expect {
            try await agent.call(
                WorkdirSync.self,
                agent.syncParams(job: "job-bad", project: "checked", artifact: artifact)
            )
        } throws: { error in
            guard let error = error as? RPCError else { return false }
            return error.code == .artifactRejected && error.details["reason"] == "checksum_mismatch"
        }
        #expect(try TreeSnapshot(project) == snapshot)
        #expect(try Shell.git("rev-parse", "HEAD", in: project) == head)
        #expect(try Shell.git("status", "--porcelain", in: project).isEmpty)
        for directory in ["\(agent.stateDirectory)/cache", "\(agent.stateDirectory)/tmp"] {
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty, "\(directory)")
        }
        #expect(
            (try? FileManager.default.contentsOfDirectory(atPath: "\(agent.workRoot)/.rollback-staging"))?
                .isEmpty ?? true
        )
    }

    static func looseObjects(_ project: String) throws -> Int {
        let counts = try Shell.git("count-objects", "-v", in: project)
        return counts.split(separator: "\n").first { $0.hasPrefix("count: ") }.flatMap {
            Int($0.dropFirst(7))
        } ?? -1
    }
}
