import Foundation
import RollbackProtocol
import RollbackTransport
import Testing

@Suite("Agent refuses hostile input and changes nothing", .serialized)
struct HostileInputTests {
    /// Runs `attempt` against a project with history and checks that it fails with `reason`
    /// (or `code`) while the working directory and its `.git` stay byte-for-byte the same.
    private func expectRefusal(
        code: RPCErrorCode,
        reason: String?,
        entry: String? = nil,
        _ attempt: (AgentHarness) async throws -> Void
    ) async throws {
        let agent = try AgentHarness()
        defer { agent.shutdown() }
        try await agent.start()
        let project = try agent.makeProject(
            "victim",
            files: ["index.html": "<h1>live</h1>", "app.js": "live()"]
        )
        let before = try TreeSnapshot(project)
        do {
            try await attempt(agent)
            Issue.record("the hostile sync was accepted")
        } catch let error as RPCError {
            #expect(error.code == code, "\(error)")
            if let reason { #expect(error.details["reason"] == reason, "\(error)") }
            if let entry { #expect(error.details["entry"] == entry, "\(error)") }
        }
        let after = try TreeSnapshot(project)
        #expect(after == before, "changed: \(after.difference(from: before))")
        #expect(!FileManager.default.fileExists(atPath: "\(agent.workRoot)/evil.txt"))
        #expect(
            (try? FileManager.default.contentsOfDirectory(atPath: "\(agent.workRoot)/.rollback-staging"))?
                .isEmpty ?? true
        )
        try Shell.git("fsck", in: project)
    }

    @Test(
        "hostile archives are refused with their own reason, naming the entry",
        arguments: [
            ("zip-slip", "path_traversal", "assets/../../evil.txt"),
            ("absolute", "absolute_path", "/tmp/evil.txt"),
            ("symlink-escape", "symlink_escapes", "link"),
            ("zip-bomb", "compression_ratio", "bomb.bin"),
            ("duplicate", "duplicate_entry", "dup.txt"),
            ("device", "unsupported_entry_type", "dev"),
            ("git-dir", "git_directory_entry", ".git/config"),
            ("bad-crc", "bad_crc", "data.txt"),
        ]
    )
    func hostileArchive(kind: String, reason: String, entry: String) async throws {
        try await expectRefusal(code: .artifactRejected, reason: reason, entry: entry) { agent in
            let artifact = try agent.makeHostileArtifact(kind)
            _ = try await agent.call(
                WorkdirSync.self,
                agent.syncParams(job: "job-\(kind)", project: "victim", artifact: artifact)
            )
        }
    }

    @Test("a truncated archive")
    func truncatedArchive() async throws {
        try await expectRefusal(code: .artifactRejected, reason: "archive_unreadable") { agent in
            let good = try agent.makeArtifact(
                "whole",
                files: ["a.txt": String(repeating: "a", count: 5000), "b.txt": "b"]
            )
            let path = String(good.url.dropFirst("file://".count))
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: path))
            _ = try await agent.call(
                WorkdirSync.self,
                agent.syncParams(job: "job-t", project: "victim", artifact: try agent.artifact(at: path))
            )
        }
    }

    @Test("a wrong checksum and a wrong size")
    func wrongChecksumAndSize() async throws {
        try await expectRefusal(code: .artifactRejected, reason: "checksum_mismatch") { agent in
            var artifact = try agent.makeArtifact("c", files: ["a.txt": "a"])
            artifact.sha256 = String(repeating: "0", count: 64)
            _ = try await agent.call(
                WorkdirSync.self,
                agent.syncParams(job: "job-c", project: "victim", artifact: artifact)
            )
        }
        try await expectRefusal(code: .artifactRejected, reason: "size_mismatch") { agent in
            var artifact = try agent.makeArtifact("s", files: ["a.txt": "a"])
            artifact.sizeBytes -= 1
            artifact.url = try await agent.startHTTPServer() + "/s.zip"
            _ = try await agent.call(
                WorkdirSync.self,
                agent.syncParams(job: "job-s", project: "victim", artifact: artifact)
            )
        }
    }

    @Test("a stale epoch is refused, also after the agent restarts")
    func staleEpoch() async throws {
        let agent = try AgentHarness()
        defer { agent.shutdown() }
        try await agent.start()
        let project = try agent.makeProject("victim", files: ["index.html": "<h1>live</h1>"])
        let artifact = try agent.makeArtifact("e", files: ["index.html": "<h1>v7</h1>"])
        _ = try await agent.call(
            WorkdirSync.self,
            agent.syncParams(job: "job-e1", project: "victim", artifact: artifact, epoch: 7)
        )
        try await agent.stop()
        try await agent.start()
        let before = try TreeSnapshot(project)
        await #expect {
            try await agent.call(
                WorkdirSync.self,
                agent.syncParams(job: "job-e2", project: "victim", artifact: artifact, epoch: 6)
            )
        } throws: { ($0 as? RPCError)?.code == .staleEpoch }
        #expect(try TreeSnapshot(project) == before)
        // The same epoch again is allowed (a retry by the same broker generation).
        _ = try await agent.call(
            WorkdirSync.self,
            agent.syncParams(
                job: "job-e3",
                project: "victim",
                artifact: artifact,
                epoch: 7,
                rollbackVersion: "v11"
            )
        )
    }

    @Test("a bad signature")
    func badSignature() async throws {
        try await expectRefusal(code: .unauthenticated, reason: "bad_signature") { agent in
            let artifact = try agent.makeArtifact("sig", files: ["a.txt": "a"])
            let forger = RequestSigner(
                agentID: AgentHarness.agentID,
                key: try SigningKey(id: "k1", secret: [UInt8](repeating: 7, count: 32))
            )
            _ = try await agent.call(
                WorkdirSync.self,
                agent.syncParams(job: "job-sig", project: "victim", artifact: artifact),
                signer: forger
            )
        }
    }

    @Test(
        "project ids that are not one safe directory name",
        arguments: ["../victim", "victim/..", ".hidden", "a b", ""]
    )
    func badProjectID(projectID: String) async throws {
        try await expectRefusal(code: .invalidParams, reason: nil) { agent in
            let artifact = try agent.makeArtifact("p", files: ["a.txt": "a"])
            _ = try await agent.call(
                WorkdirSync.self,
                agent.syncParams(job: "job-p", project: projectID, artifact: artifact)
            )
        }
    }

    @Test("a download that stalls fails with deadline_exceeded")
    func stalledDownload() async throws {
        try await expectRefusal(code: .deadlineExceeded, reason: "download_stalled") { agent in
            var artifact = try agent.makeArtifact("stall", files: ["a.txt": "a"])
            artifact.url = try await agent.startStallingServer() + "/stall.zip"
            artifact.sizeBytes = 1_000_000
            _ = try await agent.call(
                WorkdirSync.self,
                agent.syncParams(job: "job-stall", project: "victim", artifact: artifact)
            )
        }
    }
}
