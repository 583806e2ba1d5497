import Foundation
import RollbackBroker
import RollbackClient
import RollbackProtocol
import RollbackTransport
import TestSupport
import Testing

/// RollbackClient against a real broker (API and dispatcher) and a real agent process.
@Suite("RollbackClient: BrokerClient and AgentClient")
struct ClientTests {
    static func client(_ broker: BrokerHarness, port: Int? = nil) throws -> BrokerClient {
        var client = try BrokerClient(
            url: "http://127.0.0.1:\(port ?? broker.port)",
            key: BrokerHarness.keyring.activeKey
        )
        client.retryDelay = .milliseconds(20)
        return client
    }

    @Test("BrokerClient: register, roll back and wait with progress, read, publish, events, typed errors")
    func brokerClient() async throws {
        try await DispatchTests.withHost { host in
            let scene = try DispatchTests.Scene(host: host)
            try await BrokerHarness.with(roles: [.api, .dispatch], agents: [host]) { broker in
                let client = try Self.client(broker)
                let project = "c-\(scene.suffix)"
                let registered = try await client.registerProject(
                    RegisterProjectRequest(projectID: project, userID: "carol", host: host.name)
                )
                #expect(registered.projectID == project)
                for (id, artifact) in [(scene.v1ID, scene.v1), (scene.v2ID, scene.v2)] {
                    let version = try await client.registerVersion(
                        projectID: project,
                        RegisterVersionRequest(
                            versionID: id,
                            artifactURL: artifact.url,
                            artifactSHA256: artifact.sha256,
                            artifactSize: artifact.size,
                            previewURL: "https://\(id).example.com",
                            deploymentID: nil
                        )
                    )
                    #expect(version.status == .ready)
                }
                try host.makeWorkingDirectory(project, files: DispatchTests.oldFiles)

                let accepted = try await client.rollback(
                    RollbackRequest(userID: "carol", projectID: project, targetVersionID: scene.v1ID)
                )
                let seen = ProgressLog()
                let outcome = try await client.waitForRollback(accepted) { seen.append($0.percent) }
                guard case .completed(let completed) = outcome else {
                    Issue.record("expected completion, got \(outcome)")
                    return
                }
                #expect(completed.tag == "rollback/\(accepted.rollbackVersionID)")
                #expect(!seen.values.isEmpty && seen.values == seen.values.sorted())
                #expect(try await client.project(project).status == .deployed)
                let versions = try await client.versions(projectID: project).versions
                #expect(versions.last?.parentVersionID == scene.v1ID)
                #expect(try await client.job(try #require(accepted.jobID)).state == .succeeded)
                #expect(
                    try await client.publish(versionID: accepted.rollbackVersionID, userID: "carol").published
                )

                // The event sequence: everything so far, in order, typed.
                var kinds: [String] = []
                for try await event in client.events(projectID: project) {
                    if case .rollbackStarted = event.kind { kinds.append("started") }
                    if case .rollbackCompleted = event.kind {
                        kinds.append("completed")
                        break
                    }
                }
                #expect(kinds == ["started", "completed"])
                #expect(try await client.storedEvents(projectID: project).count >= 3)

                // Typed errors.
                do {
                    _ = try await client.rollback(
                        RollbackRequest(
                            userID: "carol",
                            projectID: "nope-\(project)",
                            targetVersionID: scene.v1ID
                        )
                    )
                    Issue.record("an unknown project was accepted")
                } catch let error as BrokerError {
                    #expect(error.status == 404 && error.code == "project_not_found" && !error.isRetryable)
                }
                let nowhere = try BrokerClient(
                    url: "http://127.0.0.1:1",
                    key: BrokerHarness.keyring.activeKey
                )
                do {
                    _ = try await nowhere.project(project)
                    Issue.record("port 1 answered")
                } catch let error as BrokerError {
                    #expect(error.code == "unreachable" && error.status == nil && error.isRetryable)
                }
            }
        }
    }

    @Test("BrokerClient retries a lost answer with the same Idempotency-Key: one rollback, the same answer")
    func retryKeepsTheKey() async throws {
        try await BrokerHarness.with { broker in
            let project = try await broker.makeProject()
            let directory = TemporaryFiles.directory(prefix: "rbk-proxy")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let proxy = try await FixtureServer.start(
                "flaky-proxy",
                [String(broker.port)],
                portFile: "\(directory)/port",
                log: "\(directory)/proxy.log"
            )
            defer { proxy.stop() }
            let client = try Self.client(broker, port: proxy.port)
            let accepted = try await client.rollback(
                RollbackRequest(userID: project.user, projectID: project.id, targetVersionID: project.v1),
                idempotencyKey: "retry-\(project.id)"
            )
            #expect(accepted.targetVersionID == project.v1)
            #expect(
                try await broker.count(
                    "SELECT count(*) FROM project_versions WHERE project_id = '\(project.id)' AND kind = 'rollback'"
                ) == 1
            )
            #expect(
                try await broker.count(
                    "SELECT count(*) FROM audit_log WHERE project_id = '\(project.id)' AND outcome = 'replayed'"
                ) == 1,
                "the second attempt was answered from the stored answer"
            )
        }
    }

    @Test(
        "BrokerClient.events resumes after the broker goes away and comes back: nothing missed, nothing twice"
    )
    func eventsResume() async throws {
        let seen = EventLog()
        var port = 0
        var project: BrokerHarness.Project?
        var consumer: Task<Void, any Error>?
        defer { consumer?.cancel() }
        try await BrokerHarness.with { first in
            port = first.port
            let created = try await first.makeProject()
            project = created
            try first.expectStatus(
                try await first.rollback(
                    RollbackRequest(
                        userID: created.user,
                        projectID: created.id,
                        targetVersionID: created.v1,
                        skipWorkingDirectory: true
                    )
                ),
                200
            )
            var client = try Self.client(first)
            client.retryDelay = .milliseconds(50)
            let events = client.events(projectID: created.id, maxReconnects: 200)
            consumer = Task {
                for try await event in events { seen.append(event.id) }
            }
            #expect(try await eventually { seen.ids.count == 1 })
        }
        // The first broker is gone; a second one takes its port.
        let created = try #require(project)
        try await BrokerHarness.with(configure: { $0.listenPort = port }) { second in
            try second.expectStatus(
                try await second.rollback(
                    RollbackRequest(
                        userID: created.user,
                        projectID: created.id,
                        targetVersionID: created.v2,
                        skipWorkingDirectory: true
                    )
                ),
                200
            )
            #expect(try await eventually(timeout: .seconds(20)) { seen.ids.count == 2 })
            let ids = seen.ids
            #expect(ids == ids.sorted() && Set(ids).count == ids.count)
        }
    }

    @Test(
        "a broker that takes the request and never answers: BrokerClient fails with timeout once, rollbackctl exits 3"
    )
    func silentBroker() async throws {
        let directory = TemporaryFiles.directory(prefix: "rbk-silent-broker")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let silent = try await FixtureServer.silent(in: directory)
        defer { silent.stop() }
        var client = try BrokerClient(url: silent.baseURL, key: BrokerHarness.keyring.activeKey)
        client.requestTimeout = .seconds(1)
        client.retryDelay = .milliseconds(20)
        let started = ContinuousClock.now
        do {
            _ = try await client.project("shop")
            Issue.record("a broker that never answers gave an answer")
        } catch {
            #expect(error.code == "timeout" && error.status == nil && !error.isRetryable)
            #expect(
                error.message.contains("did not answer GET /v1/projects/shop within 1.0 seconds"),
                "\(error)"
            )
        }
        #expect(ContinuousClock.now - started >= .seconds(1), "the deadline was kept")
        // Not retried: one connection, however many attempts the client may make.
        let connections = try String(contentsOfFile: "\(directory)/silent.log", encoding: .utf8)
            .split(separator: "\n").filter { $0 == "connection" }.count
        #expect(connections == 1, "\(connections) connections")

        let keyring = BrokerHarness.writeClientKeyring(in: directory)
        let cli = try await CLITests.rollbackctl(
            ["status", "shop", "--broker-url", silent.baseURL, "--broker-timeout", "1"],
            keyring: keyring
        )
        #expect(cli.status == 3, "\(cli.stdout) \(cli.stderr)")
        #expect(
            cli.stderr.hasPrefix("rollbackctl: timeout:") && cli.stderr.contains("within 1.0 seconds"),
            "\(cli.stderr)"
        )
        let usage = try await CLITests.rollbackctl(
            ["status", "shop", "--broker-url", silent.baseURL, "--broker-timeout", "0"],
            keyring: keyring
        )
        #expect(usage.status == 2 && usage.stderr.contains("--broker-timeout"), "\(usage.stderr)")
        // Not a number in the environment: refused too, not quietly replaced by the default.
        let garbled = try await CLITests.run(
            "rollbackctl",
            ["status", "shop", "--broker-url", silent.baseURL],
            environment: ["ROLLBACK_BROKER_KEYRING": keyring, "ROLLBACK_BROKER_TIMEOUT": "soon"]
        )
        #expect(
            garbled.status == 2 && garbled.stderr.contains("ROLLBACK_BROKER_TIMEOUT"),
            "\(garbled.stderr)"
        )
    }

    @Test(
        "an event stream that stays silent is given up after streamIdleLimit and reopened, not waited on for good",
        .timeLimit(.minutes(1))
    )
    func silentEventStream() async throws {
        let directory = TemporaryFiles.directory(prefix: "rbk-silent-events")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let silent = try await FixtureServer.silent(in: directory)
        defer { silent.stop() }
        var client = try BrokerClient(url: silent.baseURL, key: BrokerHarness.keyring.activeKey)
        client.streamIdleLimit = .seconds(2)
        client.retryDelay = .milliseconds(20)
        let started = ContinuousClock.now
        do {
            for try await event in client.events(projectID: "shop", maxReconnects: 1) {
                Issue.record("a silent server sent an event: \(event)")
            }
            Issue.record("the stream ended without an error")
        } catch let error as BrokerError {
            #expect(error.code == "unreachable", "\(error)")
            // The idle limit counts from the connection's start: under CI's load the request was
            // once not yet written when it ended the connection, and the write's failure was the
            // error. Either way the silent connection was given up.
            #expect(
                error.message.contains("nothing arrived for 2.0 seconds")
                    || error.message.contains("I/O on closed channel"),
                "\(error)"
            )
        }
        // Two connections (the first and one reconnect), each given up after the limit.
        #expect(ContinuousClock.now - started >= .seconds(4))
        try await waitUntil("the server to log both connections") {
            let log = try String(contentsOfFile: "\(directory)/silent.log", encoding: .utf8)
            return log.split(separator: "\n").filter { $0 == "connection" }.count == 2
        }
    }

    @Test("AgentClient: health, sync as a sequence of progress then the result, status, typed errors")
    func agentClient() async throws {
        try await DispatchTests.withHost { host in
            let scene = try DispatchTests.Scene(host: host)
            try host.makeWorkingDirectory("agent-client", files: DispatchTests.oldFiles)
            let agent = AgentClient(
                endpoint: AgentEndpoint(
                    socketPath: host.socketPath,
                    agentID: host.name,
                    keyring: AgentHost.keyring
                )
            )
            #expect(try await agent.health().status == "ok")
            let params = WorkdirSync.Params(
                jobID: "client-1",
                projectID: "agent-client",
                rollbackVersionID: "r1",
                targetVersionID: "v1",
                artifact: .init(url: scene.v1.url, sha256: scene.v1.sha256, sizeBytes: scene.v1.size),
                epoch: 1
            )
            var percents: [Int] = []
            var result: WorkdirSync.Result?
            for try await update in agent.sync(params) {
                switch update {
                case .progress(let progress): percents.append(progress.percent)
                case .finished(let finished): result = finished
                }
            }
            #expect(result?.state == .succeeded && percents.last == 100)
            #expect(try await agent.status(jobID: "client-1").state == .succeeded)
            #expect(host.file("agent-client", "index.html") == "<h1>one</h1>")
            let tags = try Shell.git("tag", "--list", in: host.workingDirectory("agent-client"))
            #expect(tags.contains("rollback/r1"))
            do {
                _ = try await agent.status(jobID: "never-ran")
                Issue.record("an unknown job had a status")
            } catch let error as RPCError {
                #expect(error.code == .notFound)
            }
            let stranger = AgentClient(
                endpoint: AgentEndpoint(
                    socketPath: "\(host.directory)/nobody.sock",
                    agentID: host.name,
                    keyring: AgentHost.keyring
                )
            )
            await #expect(throws: (any Error).self) { try await stranger.health() }
        }
    }
}

/// Event ids seen by a consuming task.
final class EventLog: @unchecked Sendable {
    // @unchecked: guarded by `lock`.
    private let lock = NSLock()
    private var stored: [Int64] = []
    func append(_ id: Int64) { lock.withLock { stored.append(id) } }
    var ids: [Int64] { lock.withLock { stored } }
}

/// Progress values seen by a callback.
final class ProgressLog: @unchecked Sendable {
    // @unchecked: guarded by `lock`.
    private let lock = NSLock()
    private var stored: [Int] = []
    func append(_ value: Int) { lock.withLock { stored.append(value) } }
    var values: [Int] { lock.withLock { stored } }
}
