import Foundation
import RollbackProtocol
import RollbackTransport
import Testing

@Suite("Agent crash safety", .serialized)
struct CrashTests {
    /// Two versions of a project of 1,500 files that differ in a third of them.
    static func versions() -> (a: [String: String], b: [String: String]) {
        var a: [String: String] = [:]
        var b: [String: String] = [:]
        for index in 0..<1500 {
            let path = "src/module\(index % 30)/file\(index).txt"
            let body = String(repeating: "line \(index)\n", count: 1 + index % 40)
            a[path] = body
            b[path] = index % 3 == 0 ? body + "changed in B\n" : body
        }
        a["only-in-a.txt"] = "A"
        b["only-in-b.txt"] = "B"
        return (a, b)
    }

    /// A version of `a` with one file in twenty changed, one added in a new directory and the
    /// only file of a directory removed: small enough for the in-place path.
    static func smallChange(of a: [String: String]) -> [String: String] {
        var d = a
        for (index, path) in a.keys.sorted().enumerated() where index % 20 == 0 {
            d[path] = a[path]! + "changed in D\n"
        }
        d["only-in-a.txt"] = nil
        d["fresh/deep/new.txt"] = "D"
        return d
    }

    @Test(
        "SIGKILL at the swap's crash points and at 20 instants across the phases leaves the old or the new tree, with git intact"
    )
    func killAnywhere() async throws {
        let (filesA, filesB) = Self.versions()
        // A third of the files differ: the whole-tree path (staging tree, exchange).
        try await Self.killRepeatedly(
            filesA,
            filesB,
            crashPoints: ["before-git-move", "after-git-move", "after-exchange", "after-commit"],
            timedKills: 20
        )
    }

    @Test(
        "in place: SIGKILL before, during and after applying the changes, and at 15 instants, leaves the old or the new tree"
    )
    func killInPlace() async throws {
        var (filesA, _) = Self.versions()
        filesA["gone/only.txt"] = "its directory goes with it"
        try await Self.killRepeatedly(
            filesA,
            Self.smallChange(of: filesA),
            crashPoints: [
                "in-place-before-apply", "in-place-mid-apply", "in-place-after-apply", "after-commit",
            ],
            timedKills: 15
        )
    }

    /// Syncs back and forth between `filesA` and `filesB`, killing the agent at each of
    /// `crashPoints` and then at `timedKills` instants across the phases, and checks after each
    /// restart that the tree is wholly one version, git is sound and the job's state agrees.
    static func killRepeatedly(
        _ filesA: [String: String],
        _ filesB: [String: String],
        crashPoints: [String],
        timedKills: Int
    ) async throws {
        let agent = try AgentHarness()
        defer { agent.shutdown() }
        let project = try agent.makeProject("big", files: filesA)
        let artifacts = [
            "A": try agent.makeArtifact("A", files: filesA), "B": try agent.makeArtifact("B", files: filesB),
        ]
        let trees = ["A": try TreeSnapshot(project, excludingGit: true)]
        var current = "A"
        var epoch: Int64 = 1
        var outcomes: [String: Int] = [:]
        var killedIn: [String: Int] = [:]

        /// After a crash and a restart: the tree is wholly A or wholly B, git is sound, and the
        /// job's status agrees with the tree.
        func checkAfterRestart(job: String) async throws -> String {
            try await agent.start()
            let tree = try TreeSnapshot(project, excludingGit: true)
            let which =
                try tree == trees["A"]!
                ? "A" : (tree == TreeSnapshot.expected(filesB, like: project)) ? "B" : "neither"
            #expect(which != "neither", "after \(job): the tree is neither version")
            try Shell.git("fsck", "--strict", in: project)
            #expect(
                !FileManager.default.fileExists(atPath: "\(project)/.git/index.lock"),
                "after \(job): a stale index.lock"
            )
            let porcelain = try Shell.git("status", "--porcelain", in: project)
            #expect(porcelain.isEmpty, "after \(job): \(porcelain.prefix(300))")
            let status = try await agent.call(JobStatus.self, .init(jobID: job))
            #expect([.interrupted, .succeeded].contains(status.state), "after \(job): \(status.state)")
            #expect(
                (status.state == .succeeded) == (which != current),
                "after \(job): state \(status.state), tree \(which)"
            )
            let leftovers =
                (try? FileManager.default.contentsOfDirectory(atPath: "\(agent.workRoot)/.rollback-staging"))
                ?? []
            #expect(leftovers.isEmpty, "after \(job): staging left behind")
            try await agent.stop()
            outcomes[status.state.rawValue, default: 0] += 1
            return which
        }

        // Fault injection at the instants a timed kill would rarely hit.
        for point in crashPoints {
            try await agent.start(environment: ["ROLLBACK_AGENT_TEST_CRASH_POINT": point])
            let target = current == "A" ? "B" : "A"
            epoch += 1
            let job = "crash-\(point)"
            _ = try? await agent.call(
                WorkdirSync.self,
                agent.syncParams(
                    job: job,
                    project: "big",
                    artifact: artifacts[target]!,
                    epoch: epoch,
                    rollbackVersion: "v\(epoch)"
                )
            )
            #expect(try await agent.waitForExit() == .uncaughtSignal, "\(point)")
            current = try await checkAfterRestart(job: job)
        }

        // Timed kills, spread across the phases by progress notifications.
        for attempt in 0..<timedKills {
            try await agent.start()
            let target = current == "A" ? "B" : "A"
            epoch += 1
            let job = "kill-\(attempt)"
            let pid = agent.pid!
            // Each attempt picks a phase and kills the agent a little after that phase begins.
            let phases: [SyncPhase] = [.downloading, .verifying, .extracting, .swapping, .committing]
            let phase = phases[attempt % phases.count]
            let extraDelay = Duration.milliseconds((attempt / phases.count) * 15)
            let fired = ProgressLog()
            _ = try? await agent.call(
                WorkdirSync.self,
                agent.syncParams(
                    job: job,
                    project: "big",
                    artifact: artifacts[target]!,
                    epoch: epoch,
                    rollbackVersion: "v\(epoch)"
                )
            ) { update in
                guard update.phase == phase, fired.updates.isEmpty else { return }
                fired.append(update)
                Task {
                    try? await Task.sleep(for: extraDelay)  // the kill instant under test, not a wait
                    kill(pid, SIGKILL)
                }
            }
            killedIn[phase.rawValue, default: 0] += fired.updates.isEmpty ? 0 : 1
            kill(pid, SIGKILL)  // in case the sync finished before the planned instant
            _ = try await agent.waitForExit()
            current = try await checkAfterRestart(job: job)
        }
        print("crash test: kills by phase \(killedIn), outcomes \(outcomes)")
        #expect(outcomes.values.reduce(0, +) == crashPoints.count + timedKills)
    }
}

extension TreeSnapshot {
    /// The snapshot a tree holding exactly `files` (mode 644) would have.
    static func expected(
        _ files: [String: String],
        like root: String,
        executable: Set<String> = []
    ) throws -> TreeSnapshot {
        let scratch = "\(root).expected"
        try? FileManager.default.removeItem(atPath: scratch)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        for (relative, content) in files {
            let path = "\(scratch)/\(relative)"
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true
            )
            try Data(content.utf8).write(to: URL(fileURLWithPath: path))
            chmod(path, executable.contains(relative) ? 0o755 : 0o644)
        }
        var directories = Set<String>()
        for relative in files.keys {
            var parent = (relative as NSString).deletingLastPathComponent
            while !parent.isEmpty {
                directories.insert(parent); parent = (parent as NSString).deletingLastPathComponent
            }
        }
        for directory in directories { chmod("\(scratch)/\(directory)", 0o755) }
        return try TreeSnapshot(scratch)
    }
}
