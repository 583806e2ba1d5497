import Foundation
import RollbackProtocol
import RollbackTransport
import Testing

@Suite("Unix-socket RPC")
struct RoundTripTests {
    static func syncParams(_ jobID: String = "job-1") -> WorkdirSync.Params {
        WorkdirSync.Params(
            jobID: jobID,
            projectID: "proj-1",
            rollbackVersionID: "v9",
            targetVersionID: "v3",
            artifact: .init(
                url: "file:///srv/a.zip",
                sha256: String(repeating: "ab", count: 32),
                sizeBytes: 100
            ),
            epoch: 1
        )
    }

    /// A `workdir.sync` stand-in that streams five progress notifications, then answers.
    static func streamingMethods() -> MethodRegistry {
        var methods = MethodRegistry()
        methods.register(WorkdirSync.self) { params, context in
            for (step, phase) in [SyncPhase.accepted, .downloading, .extracting, .committing, .done]
                .enumerated()
            {
                await context.progress(
                    JobProgress.Params(
                        requestID: context.id,
                        jobID: params.jobID,
                        percent: step * 25,
                        phase: phase,
                        bytesDone: Int64(step * 25),
                        bytesTotal: 100
                    )
                )
            }
            return WorkdirSync.Result(
                jobID: params.jobID,
                state: .succeeded,
                commitID: "c0ffee",
                tag: "rollback/v9",
                files: .init(added: 1, changed: 2, removed: 3, unchanged: 4),
                bytesWritten: 100,
                phaseMilliseconds: [:]
            )
        }
        methods.register(AgentHealth.self) { _, context in
            AgentHealth.Result(
                status: "ok",
                agentVersion: "test",
                uptimeSeconds: Int64(context.peer.uid),
                runningJobs: Int(context.peer.pid),
                diskFreeBytes: 0
            )
        }
        return methods
    }

    @Test("a signed request streams progress notifications and ends in exactly one response")
    func streamingRoundTrip() async throws {
        try await TestServer.with(methods: Self.streamingMethods()) { server in
            try await server.connect { connection in
                let progress = Collector<JobProgress.Params>()
                let result = try await connection.call(WorkdirSync.self, Self.syncParams(), trace: .random())
                { progress.append($0) }
                #expect(result.commitID == "c0ffee")
                #expect(result.files.removed == 3)
                #expect(progress.values.map(\.percent) == [0, 25, 50, 75, 100])
                #expect(
                    progress.values.map(\.phase) == [
                        .accepted, .downloading, .extracting, .committing, .done,
                    ]
                )
                #expect(progress.values.allSatisfy { $0.jobID == "job-1" })
            }
        }
    }

    @Test("many concurrent calls are multiplexed on one connection")
    func multiplexed() async throws {
        try await TestServer.with(methods: Self.streamingMethods()) { server in
            try await server.connect { connection in
                try await withThrowingTaskGroup(of: String.self) { group in
                    for index in 0..<50 {
                        group.addTask {
                            let progress = Collector<JobProgress.Params>()
                            let result = try await connection.call(
                                WorkdirSync.self,
                                Self.syncParams("job-\(index)")
                            ) { progress.append($0) }
                            // Each call sees only its own progress.
                            #expect(progress.values.count == 5)
                            #expect(progress.values.allSatisfy { $0.jobID == "job-\(index)" })
                            return result.jobID
                        }
                    }
                    var seen = Set<String>()
                    for try await jobID in group { seen.insert(jobID) }
                    #expect(seen.count == 50)
                }
            }
        }
    }

    @Test("the server sees the caller's kernel-reported pid and uid")
    func peerCredentials() async throws {
        try await TestServer.with(methods: Self.streamingMethods()) { server in
            let health = try await server.connect { try await $0.call(AgentHealth.self, EmptyParams()) }
            #expect(health.uptimeSeconds == Int64(getuid()))
            #expect(health.runningJobs == Int(getpid()))
        }
    }

    @Test("a signed cancel ends a running request with one final `cancelled` response")
    func signedCancel() async throws {
        var methods = MethodRegistry()
        let started = AsyncStream<Void>.makeStream()
        methods.register(WorkdirSync.self) { params, context in
            await context.progress(
                JobProgress.Params(
                    requestID: context.id,
                    jobID: params.jobID,
                    percent: 0,
                    phase: .accepted,
                    bytesDone: 0,
                    bytesTotal: 0
                )
            )
            started.continuation.yield()
            // Stands in for long work; only cancellation ends it.
            try await Task.sleep(for: .seconds(600))
            throw RPCError(.internalError, "not reached")
        }
        let clock = ContinuousClock()
        let begin = clock.now
        try await TestServer.with(methods: methods) { server in
            try await server.connect { connection in
                let call = Task { try await connection.call(WorkdirSync.self, Self.syncParams()) }
                var iterator = started.stream.makeAsyncIterator()
                await iterator.next()
                call.cancel()  // sends a signed $/cancelRequest, then waits for the final response
                await #expect(throws: RPCError(.cancelled, "the request was cancelled")) {
                    try await call.value
                }
                // The connection still works afterwards.
                let second = Task { try await connection.call(WorkdirSync.self, Self.syncParams("job-2")) }
                await iterator.next()
                try await connection.notify(CancelRequest.self, CancelRequest.Params(id: 2))
                await #expect(throws: RPCError(.cancelled, "the request was cancelled")) {
                    try await second.value
                }
            }
        }
        #expect(clock.now - begin < .seconds(30))
    }

    @Test("a peer whose uid is not allowed is refused before any frame is read")
    func wrongPeerUID() async throws {
        try await TestServer.with(
            methods: Self.streamingMethods(),
            configure: { $0.allowedPeerUIDs = [getuid() &+ 4242] }
        ) { server in
            try await server.connect { connection in
                do {
                    _ = try await connection.call(AgentHealth.self, EmptyParams())
                    Issue.record("a refused peer got an answer")
                } catch let error as RPCError {
                    #expect(error.code == .unauthenticated)
                    #expect(error.details["reason"] == "peer_not_allowed")
                    #expect(error.details["uid"] == String(getuid()))
                }
            }
        }
    }

    @Test("an allowed peer uid is let in")
    func allowedPeerUID() async throws {
        try await TestServer.with(
            methods: Self.streamingMethods(),
            configure: { $0.allowedPeerUIDs = [getuid()] }
        ) { server in
            let health = try await server.connect { try await $0.call(AgentHealth.self, EmptyParams()) }
            #expect(health.status == "ok")
        }
    }

    @Test("bad signatures are refused over the socket, each with its own reason")
    func refusedSignatures() async throws {
        let wrongKey = RequestSigner(
            agentID: TestServer.agentID,
            key: try SigningKey(id: "k1", secret: [UInt8](repeating: 3, count: 32))
        )
        let unknownKey = RequestSigner(
            agentID: TestServer.agentID,
            key: try SigningKey(id: "k2", secret: [UInt8](repeating: 3, count: 32))
        )
        try await TestServer.with(methods: Self.streamingMethods()) { server in
            for (signer, reason) in [(wrongKey, "bad_signature"), (unknownKey, "unknown_key_id")] {
                try await server.connect(signer: signer) { connection in
                    await #expect {
                        try await connection.call(AgentHealth.self, EmptyParams())
                    } throws: { ($0 as? RPCError)?.details["reason"] == reason }
                }
            }
            try await server.connect { connection in
                // A replayed frame: the same signed bytes twice.
                let body = try OutgoingMessage.request(id: 1, method: AgentHealth.name, params: EmptyParams())
                let frame = TestServer.signer.frame(body: body, method: AgentHealth.name, id: 1)
                let first = try await connection.send(frame, awaiting: 1)
                #expect(try first.decodeResult(AgentHealth.Result.self).status == "ok")
                let second = try await connection.send(frame, awaiting: 1)
                #expect(throws: RPCError.self) { try second.decodeResult(AgentHealth.Result.self) }
                if case .errorResponse(_, let error) = second.kind { #expect(error.code == .replayed) }
                // An expired one.
                let old = TestServer.signer.auth(
                    body: body,
                    method: AgentHealth.name,
                    id: 1,
                    timestamp: UnixTime.now() - 3600
                )
                let expired = try await connection.send(Frame(auth: old.encoded(), body: body), awaiting: 1)
                if case .errorResponse(_, let error) = expired.kind {
                    #expect(error.details["reason"] == "timestamp_expired")
                } else {
                    Issue.record("expired request was answered")
                }
            }
        }
    }

    @Test("an oversized frame ends the connection with a clear error")
    func oversizedFrameClosesConnection() async throws {
        try await TestServer.with(
            methods: Self.streamingMethods(),
            configure: { $0.frameLimits = FrameLimits(maxBodyLength: 256) }
        ) { server in
            try await server.connect { connection in
                let padding = String(repeating: "x", count: 1024)
                let body = try OutgoingMessage.request(
                    id: 1,
                    method: AgentHealth.name,
                    params: ["padding": padding]
                )
                let frame = TestServer.signer.frame(body: body, method: AgentHealth.name, id: 1)
                await #expect {
                    try await connection.send(frame, awaiting: 1)
                } throws: { ($0 as? RPCError)?.details["reason"] == "frame_too_large" }
                // The server closed the connection: later calls fail at once instead of hanging.
                await #expect(throws: (any Error).self) {
                    try await connection.call(AgentHealth.self, EmptyParams())
                }
            }
        }
    }
}
