import Foundation
import RollbackProtocol
import RollbackTransport
import Testing

/// Progress notifications collected from a call.
final class ProgressLog: @unchecked Sendable {
    // @unchecked: guarded by `lock`.
    private let lock = NSLock()
    private var storage: [JobProgress.Params] = []
    func append(_ update: JobProgress.Params) { lock.withLock { storage.append(update) } }
    var updates: [JobProgress.Params] { lock.withLock { storage } }
}

@Suite("Agent sync, against a real agent process", .serialized)
struct SyncTests {
    @Test("a sync replaces the tree, commits and tags it, and streams ordered progress")
    func syncIntoExistingHistory() async throws {
        let agent = try AgentHarness()
        defer { agent.shutdown() }
        try await agent.start()
        let project = try agent.makeProject(
            "shop",
            files: [
                "index.html": "<h1>v5</h1>", "old.txt": "stale", "keep.txt": "same", "css/site.css": "body{}",
            ]
        )
        let artifact = try agent.makeArtifact(
            "v3",
            files: [
                "index.html": "<h1>v3</h1>", "keep.txt": "same", "css/site.css": "body{}",
                "bin/run.sh": "#!/bin/sh\necho hi\n", "assets/app.js": "x()",
            ],
            executable: ["bin/run.sh"]
        )
        let progress = ProgressLog()
        let result = try await agent.call(
            WorkdirSync.self,
            agent.syncParams(job: "job-1", project: "shop", artifact: artifact)
        ) {
            progress.append($0)
        }
        #expect(result.state == .succeeded)
        #expect(result.tag == "rollback/v9")
        #expect(result.files == .init(added: 2, changed: 1, removed: 1, unchanged: 2))
        #expect(
            Set(result.phaseMilliseconds.keys).isSuperset(of: [
                "downloading", "extracting", "swapping", "committing",
            ])
        )

        // The working directory holds exactly the artifact, and git agrees.
        #expect(try String(contentsOfFile: "\(project)/index.html", encoding: .utf8) == "<h1>v3</h1>")
        #expect(!FileManager.default.fileExists(atPath: "\(project)/old.txt"))
        #expect(FileManager.default.isExecutableFile(atPath: "\(project)/bin/run.sh"))
        let log = try Shell.git("log", "--format=%H %s", in: project).split(separator: "\n")
        #expect(log.count == 2)
        #expect(log.first?.hasPrefix(result.commitID!) == true)
        #expect(log.first?.hasSuffix("Roll back to version v3") == true)
        #expect(try Shell.git("tag", "-n", in: project).contains("rollback/v9"))
        #expect(
            try Shell.git("cat-file", "-t", "rollback/v9", in: project).trimmingCharacters(
                in: .whitespacesAndNewlines
            ) == "tag"
        )
        #expect(try Shell.git("status", "--porcelain", in: project).isEmpty)
        try Shell.git("fsck", "--strict", in: project)
        #expect(try Shell.git("ls-files", "-s", "bin/run.sh", in: project).hasPrefix("100755"))

        // Progress: first accepted, last done at 100, percent never going back, phases in order.
        let updates = progress.updates
        #expect(updates.first?.phase == .accepted)
        #expect(updates.last?.phase == .done)
        #expect(updates.last?.percent == 100)
        #expect(zip(updates, updates.dropFirst()).allSatisfy { $0.percent <= $1.percent })
        let order = SyncPhase.allCases
        #expect(
            zip(updates, updates.dropFirst()).allSatisfy {
                order.firstIndex(of: $0.phase)! <= order.firstIndex(of: $1.phase)!
            }
        )
        #expect(updates.allSatisfy { $0.jobID == "job-1" })

        let status = try await agent.call(JobStatus.self, .init(jobID: "job-1"))
        #expect(status.state == .succeeded)
        #expect(status.result?.commitID == result.commitID)
    }

    @Test("over HTTP; the same job sent again returns the same result; a dry run changes nothing")
    func httpIdempotentAndDryRun() async throws {
        let agent = try AgentHarness()
        defer { agent.shutdown() }
        try await agent.start()
        let project = try agent.makeProject("blog", files: ["a.txt": "one"])
        var artifact = try agent.makeArtifact("v2", files: ["a.txt": "two", "b.txt": "new"])
        artifact.url = try await agent.startHTTPServer() + "/v2.zip"

        try agent.write(["old.txt": "gone", "c/d.txt": "kept"], into: project)
        try Shell.git("add", "-A", in: project)
        try Shell.git("commit", "-qm", "more", in: project)
        artifact = try agent.makeArtifact(
            "v2",
            files: ["a.txt": "two", "b.txt": "new", "c/d.txt": "kept", "c/e.txt": "also new"]
        )
        artifact.url = try await agent.startHTTPServer() + "/v2.zip"
        // Everything the agent owns: the work root (staging included) and the state directory
        // (epochs, job records, artifact cache, checksums).
        let workBefore = try TreeSnapshot(agent.workRoot)
        let stateBefore = try TreeSnapshot(agent.stateDirectory)
        // A dry run far ahead in epochs: it changes nothing, so it must not fence out the real
        // rollback that follows with the broker's next epoch.
        var params = agent.syncParams(
            job: "dry-1",
            project: "blog",
            artifact: artifact,
            epoch: 50,
            dryRun: true
        )
        params.diffLimit = 1
        let dry = try await agent.call(WorkdirSync.self, params)
        #expect(dry.commitID == nil && dry.tag == nil)
        #expect(dry.diff == ["added": ["b.txt"], "changed": ["a.txt"], "removed": ["old.txt"]])
        #expect(
            dry.files == .init(added: 2, changed: 1, removed: 1, unchanged: 1),
            "counts are never truncated"
        )
        #expect(dry.bytesWritten == 3 + 3 + 8, "the bytes of the added and changed files")
        #expect(dry.artifactCached == false)
        #expect(try TreeSnapshot(agent.workRoot) == workBefore)
        #expect(
            try TreeSnapshot(agent.stateDirectory) == stateBefore,
            "no epoch, no record, no cached download"
        )

        let first = try await agent.call(
            WorkdirSync.self,
            agent.syncParams(job: "job-h", project: "blog", artifact: artifact, epoch: 2)
        )
        let again = try await agent.call(
            WorkdirSync.self,
            agent.syncParams(job: "job-h", project: "blog", artifact: artifact, epoch: 2)
        )
        #expect(first == again)
        #expect(
            try Shell.git("rev-list", "--count", "HEAD", in: project).trimmingCharacters(
                in: .whitespacesAndNewlines
            ) == "3"
        )
        // A second job for the same version is served from the artifact cache.
        let cached = try await agent.call(
            WorkdirSync.self,
            agent.syncParams(
                job: "job-h2",
                project: "blog",
                artifact: artifact,
                epoch: 3,
                rollbackVersion: "v10"
            )
        )
        #expect(cached.files.unchanged == 4)
        #expect(cached.bytesWritten == 0)
        #expect(first.artifactCached == false && cached.artifactCached == true)
        try Shell.git("fsck", in: project)
    }

    @Test(
        "a selective sync restores exactly the selected paths, keeps the rest, and commits that; its dry run agrees"
    )
    func selectiveSync() async throws {
        let agent = try AgentHarness()
        defer { agent.shutdown() }
        try await agent.start()
        let project = try agent.makeProject(
            "shop",
            files: [
                "src/config/a.json": "a2", "src/config/b.json": "b2", "src/app.js": "app2",
                "package.json": "p2",
                "README.md": "r2",
            ]
        )
        let artifact = try agent.makeArtifact(
            "v1",
            files: [
                "src/config/a.json": "a1", "src/config/c.json": "c1", "src/app.js": "app1",
                "package.json": "p1",
                "README.md": "r1",
            ]
        )
        var params = agent.syncParams(job: "sel-dry", project: "shop", artifact: artifact, dryRun: true)
        params.only = ["src/config/**", "package.json"]
        let dry = try await agent.call(WorkdirSync.self, params)
        #expect(
            dry.diff == [
                "added": ["src/config/c.json"], "changed": ["package.json", "src/config/a.json"],
                "removed": ["src/config/b.json"],
            ]
        )
        #expect(dry.files == .init(added: 1, changed: 2, removed: 1, unchanged: 2))

        params.dryRun = false
        params.jobID = "sel-1"
        let result = try await agent.call(WorkdirSync.self, params)
        #expect(result.files == dry.files)
        let stat = try Shell.git("diff", "--name-status", "HEAD~1", "HEAD", in: project)
        #expect(
            stat.split(separator: "\n").sorted() == [
                "A\tsrc/config/c.json", "D\tsrc/config/b.json", "M\tpackage.json", "M\tsrc/config/a.json",
            ]
        )
        #expect(try String(contentsOfFile: "\(project)/src/app.js", encoding: .utf8) == "app2")
        #expect(try String(contentsOfFile: "\(project)/README.md", encoding: .utf8) == "r2")
        #expect(try String(contentsOfFile: "\(project)/package.json", encoding: .utf8) == "p1")
        #expect(try Shell.git("status", "--porcelain", in: project).isEmpty)
        #expect(
            try Shell.git("log", "-1", "--format=%s", in: project).contains(
                "Roll back src/config/**, package.json"
            )
        )
        try Shell.git("fsck", in: project)

        params.only = ["../etc"]
        params.jobID = "sel-bad"
        await #expect(throws: RPCError.self) { _ = try await agent.call(WorkdirSync.self, params) }
    }

    @Test("a hand-edited working directory is restored; untouched files are not rewritten")
    func handEditedTree() async throws {
        let agent = try AgentHarness()
        defer { agent.shutdown() }
        try await agent.start()
        let project = try agent.makeProject("site", files: ["page.html": "AAAA", "logo.svg": "<svg/>"])
        let artifact = try agent.makeArtifact("v1", files: ["page.html": "AAAA", "logo.svg": "<svg/>"])
        // Same size, different bytes: only a content check can tell.
        try Data("BBBB".utf8).write(to: URL(fileURLWithPath: "\(project)/page.html"))
        var logoBefore = stat()
        lstat("\(project)/logo.svg", &logoBefore)
        let result = try await agent.call(
            WorkdirSync.self,
            agent.syncParams(job: "job-e", project: "site", artifact: artifact)
        )
        #expect(result.files == .init(added: 0, changed: 1, removed: 0, unchanged: 1))
        #expect(try String(contentsOfFile: "\(project)/page.html", encoding: .utf8) == "AAAA")
        var logoAfter = stat()
        lstat("\(project)/logo.svg", &logoAfter)
        #expect(logoAfter.st_ino == logoBefore.st_ino)  // reused, not rewritten
        #expect(try Shell.git("status", "--porcelain", in: project).isEmpty)
        // Deleting the old tree changes the ctime of the shared file; the repository ignores
        // ctime, so the index the commit wrote stays true and git need not re-hash anything.
        try await waitUntil("the old tree to be deleted") {
            ((try? FileManager.default.contentsOfDirectory(atPath: "\(agent.workRoot)/.rollback-staging"))
                ?? [])
                .isEmpty
        }
        #expect(try Shell.git("diff-files", "--name-only", in: project).isEmpty)

        // The sync left a CRC cache keyed by stat data; an edit after it must not be trusted
        // away, even one that keeps the size and restores the modification time.
        var pageStat = stat()
        lstat("\(project)/page.html", &pageStat)
        try Data("CCCC".utf8).write(to: URL(fileURLWithPath: "\(project)/page.html"))
        var times = [pageStat.st_atim, pageStat.st_mtim]
        utimensat(AT_FDCWD, "\(project)/page.html", &times, 0)
        let again = try await agent.call(
            WorkdirSync.self,
            agent.syncParams(
                job: "job-e2",
                project: "site",
                artifact: artifact,
                epoch: 2,
                rollbackVersion: "v10"
            )
        )
        #expect(again.files == .init(added: 0, changed: 1, removed: 0, unchanged: 1))
        #expect(try String(contentsOfFile: "\(project)/page.html", encoding: .utf8) == "AAAA")
        // With nothing edited, every file is known unchanged from the cache.
        let third = try await agent.call(
            WorkdirSync.self,
            agent.syncParams(
                job: "job-e3",
                project: "site",
                artifact: artifact,
                epoch: 3,
                rollbackVersion: "v11"
            )
        )
        #expect(third.files == .init(added: 0, changed: 0, removed: 0, unchanged: 2))
        #expect(third.bytesWritten == 0)
        try Shell.git("fsck", in: project)
    }

    @Test("when the answer says done, .git is done: nothing writes it afterwards")
    func gitUntouchedAfterAnswer() async throws {
        let agent = try AgentHarness()
        defer { agent.shutdown() }
        try await agent.start()
        let files = Dictionary(
            uniqueKeysWithValues: (0..<600).map { ("dir\($0 % 60)/file\($0).txt", "content \($0)") }
        )
        let project = try agent.makeProject("quiet", files: files)
        var changed = files
        changed["dir0/file0.txt"] = "changed"
        let artifact = try agent.makeArtifact("quiet-v2", files: changed)
        let result = try await agent.call(
            WorkdirSync.self,
            agent.syncParams(job: "job-q", project: "quiet", artifact: artifact)
        )
        #expect(result.state == .succeeded)
        // Right after the answer: .git as it is now must stay so while the old tree (600
        // shared files) is deleted and for a while after.
        let before = try TreeSnapshot.gitState(project)
        var lockSeen = false
        let deadline = ContinuousClock.now + .seconds(2)
        while ContinuousClock.now < deadline {
            if FileManager.default.fileExists(atPath: "\(project)/.git/index.lock") { lockSeen = true }
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(!lockSeen, "the agent took .git/index.lock after it had answered")
        #expect(try TreeSnapshot.gitState(project) == before)
        // And the index is still true: no file is stat-dirty, nothing to re-hash.
        #expect(try Shell.git("diff-files", "--name-only", in: project).isEmpty)
        #expect(try Shell.git("status", "--porcelain", in: project).isEmpty)
    }

    @Test("two projects sync at once; a second sync of a busy project is refused naming the job")
    func twoProjectsAtOnce() async throws {
        let agent = try AgentHarness()
        defer { agent.shutdown() }
        try await agent.start()
        for name in ["p1", "p2"] { try agent.makeProject(name, files: ["f.txt": name]) }
        let files = Dictionary(
            uniqueKeysWithValues: (0..<400).map {
                ("dir\($0 % 20)/file\($0).txt", String(repeating: "x", count: $0 * 10))
            }
        )
        let artifact = try agent.makeArtifact("big", files: files)
        async let first = agent.call(
            WorkdirSync.self,
            agent.syncParams(job: "j-p1", project: "p1", artifact: artifact)
        )
        async let second = agent.call(
            WorkdirSync.self,
            agent.syncParams(job: "j-p2", project: "p2", artifact: artifact)
        )
        let results = try await [first, second]
        #expect(results.allSatisfy { $0.files.added == 400 && $0.files.removed == 1 })
        for name in ["p1", "p2"] {
            try Shell.git("fsck", in: "\(agent.workRoot)/\(name)")
            #expect(try Shell.git("status", "--porcelain", in: "\(agent.workRoot)/\(name)").isEmpty)
        }
    }

    @Test("a bad configuration is one line naming the field, and exit code 2")
    func badConfiguration() async throws {
        let agent = try AgentHarness()
        defer { agent.shutdown() }
        chmod(agent.keyringPath, 0o644)
        let run = try await ChildProcess.run(
            AgentHarness.executable,
            [
                "--socket", agent.socketPath, "--keyring", agent.keyringPath, "--work-root", agent.workRoot,
                "--state-dir", agent.stateDirectory,
            ]
        )
        let output = run.stderr
        #expect(run.status == 2)
        #expect(output.contains("keyringFile"))
        #expect(output.split(separator: "\n").count == 1)
    }
}
