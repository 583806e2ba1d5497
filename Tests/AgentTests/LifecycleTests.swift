import Foundation
import RollbackProtocol
import RollbackTransport
import Testing

@Suite("Agent cancel and shutdown", .serialized)
struct LifecycleTests {
    @Test("job.cancel from another connection stops a sync before its swap; nothing changes")
    func cancelBeforeSwap() async throws {
        let agent = try AgentHarness()
        defer { agent.shutdown() }
        try await agent.start()
        let project = try agent.makeProject("c1", files: ["a.txt": "live"])
        let before = try TreeSnapshot(project)
        var artifact = try agent.makeArtifact("stalling", files: ["a.txt": "new"])
        artifact.url = try await agent.startStallingServer() + "/x.zip"
        artifact.sizeBytes = 1_000_000
        let params = agent.syncParams(job: "job-c1", project: "c1", artifact: artifact)
        let downloading = AsyncStream<Void>.makeStream()
        let sync = Task {
            try await agent.call(WorkdirSync.self, params) {
                if $0.phase == .downloading { downloading.continuation.yield() }
            }
        }
        var iterator = downloading.stream.makeAsyncIterator()
        await iterator.next()
        let answer = try await agent.call(JobCancel.self, .init(jobID: "job-c1", reason: "test"))
        #expect(answer.willStop)
        await #expect { try await sync.value } throws: { ($0 as? RPCError)?.code == .cancelled }
        #expect(try TreeSnapshot(project) == before)
        let status = try await agent.call(JobStatus.self, .init(jobID: "job-c1"))
        #expect(status.state == .cancelled)
        // A cancel of a finished job says it will not stop; an unknown job is not_found.
        #expect(try await agent.call(JobCancel.self, .init(jobID: "job-c1")).willStop == false)
        await #expect { try await agent.call(JobCancel.self, .init(jobID: "nope")) } throws: {
            ($0 as? RPCError)?.code == .notFound
        }
    }

    @Test("a client that disconnects does not stop its sync; job.status reports it afterwards")
    func disconnectDoesNotCancel() async throws {
        let agent = try AgentHarness()
        defer { agent.shutdown() }
        try await agent.start()
        let (files, _) = CrashTests.versions()
        try agent.makeProject("d1", files: ["a.txt": "live"])
        let artifact = try agent.makeArtifact("big", files: files)
        try await RPCConnection.withConnection(socketPath: agent.socketPath, signer: AgentHarness.signer) {
            connection in
            let body = try OutgoingMessage.request(
                id: 1,
                method: WorkdirSync.name,
                params: agent.syncParams(job: "job-d1", project: "d1", artifact: artifact)
            )
            try await connection.sendWithoutWaiting(
                AgentHarness.signer.frame(body: body, method: WorkdirSync.name, id: 1)
            )
            try await waitUntil("the job to start") {
                (try? await agent.call(JobStatus.self, .init(jobID: "job-d1"))) != nil
            }
        }  // the connection closes here, mid-sync
        try await waitUntil(timeout: .seconds(60), "the job to finish") {
            try await agent.call(JobStatus.self, .init(jobID: "job-d1")).state.isTerminal
        }
        #expect(try await agent.call(JobStatus.self, .init(jobID: "job-d1")).state == .succeeded)
    }

    @Test("SIGTERM lets a running sync finish and answer, then the agent exits 0")
    func gracefulShutdown() async throws {
        let agent = try AgentHarness()
        defer { agent.shutdown() }
        try await agent.start()
        let (files, _) = CrashTests.versions()
        let project = try agent.makeProject("g1", files: ["a.txt": "live"])
        let artifact = try agent.makeArtifact("big", files: files)
        let extracting = AsyncStream<Void>.makeStream()
        let sync = Task {
            try await agent.call(
                WorkdirSync.self,
                agent.syncParams(job: "job-g1", project: "g1", artifact: artifact)
            ) {
                if $0.phase == .extracting { extracting.continuation.yield() }
            }
        }
        var iterator = extracting.stream.makeAsyncIterator()
        await iterator.next()
        kill(agent.pid!, SIGTERM)
        let result: WorkdirSync.Result
        do {
            result = try await sync.value
        } catch {
            let reason = try await agent.waitForExit()
            Issue.record(
                "the sync was not answered: \(error); agent exit \(String(describing: reason)) \(String(describing: agent.lastExitStatus))\nagent log:\n\(agent.readLog())"
            )
            return
        }
        #expect(result.state == .succeeded)
        #expect(try await agent.waitForExit() == .exit)
        #expect(agent.lastExitStatus == 0)
        #expect(!FileManager.default.fileExists(atPath: agent.socketPath))
        #expect(try Shell.git("status", "--porcelain", in: project).isEmpty)
        #expect(agent.readLog().contains("stopped"))
    }

    @Test("agent.hello negotiates the version and lists capabilities; agent.health reports the host")
    func helloAndHealth() async throws {
        let agent = try AgentHarness()
        defer { agent.shutdown() }
        try await agent.start()
        let hello = try await agent.call(AgentHello.self, .init(protocolVersions: [1, 7], client: "tests"))
        #expect(hello.agentID == AgentHarness.agentID)
        #expect(hello.protocolVersion == 1)
        #expect(hello.capabilities.contains(WorkdirSync.name))
        await #expect {
            try await agent.call(AgentHello.self, .init(protocolVersions: [9], client: "tests"))
        } throws: {
            ($0 as? RPCError)?.code == .unsupportedVersion
        }
        let health = try await agent.call(AgentHealth.self, EmptyParams())
        #expect(health.status == "ok")
        #expect(health.diskFreeBytes > 0)
        #expect(health.runningJobs == 0)
    }
}
