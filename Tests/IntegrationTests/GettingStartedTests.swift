import Foundation
import RollbackClient
import RollbackProtocol
import TestSupport
import Testing

/// The getting-started article's snippets, compiled here and run against a real broker and agent.
/// A test checks that every `swift` block of the article appears in this file, so the article
/// cannot show code that does not compile.
enum GettingStartedSnippets {
    static func makeClient(brokerURL: String, keyringPath: String) throws -> BrokerClient {
        let broker = try BrokerClient(url: brokerURL, keyringFile: keyringPath)
        return broker
    }

    static func rollBackAndWait(
        _ broker: BrokerClient,
        user: String,
        projectID: String,
        targetVersion: String
    ) async throws -> RollbackOutcome {
        let accepted = try await broker.rollback(
            RollbackRequest(
                userID: user,
                projectID: projectID,
                targetVersionID: targetVersion,
                reason: "v42 broke checkout"
            )
        )
        print("preview now at \(accepted.previewURL)")
        let outcome = try await broker.waitForRollback(accepted) { progress in
            print("\(progress.percent)% \(progress.phase)")
        }
        switch outcome {
        case .completed(let done): print("working directory at commit \(done.commitID ?? "-")")
        case .failed(let failure): print("undone: \(failure.errorCode): \(failure.errorMessage)")
        case .canceled(let canceled): print("canceled by \(canceled.canceledBy); nothing changed")
        case .previewOnly: print("preview switched; no working directory to sync")
        }
        return outcome
    }

    static func handleErrors(_ broker: BrokerClient, projectID: String) async {
        do {
            let project = try await broker.project(projectID)
            print("\(project.projectID) is \(project.status.rawValue)")
        } catch {
            if error.isRetryable {
                print("try again shortly: \(error.message)")
            } else {
                print("refused: \(error.code): \(error.message)")
            }
        }
    }

    static func followEvents(_ broker: BrokerClient, projectID: String) async throws {
        for try await event in broker.events(projectID: projectID) {
            if case .rollbackCompleted(let done) = event.kind {
                print("event \(event.id): \(done.rollbackVersionID) completed")
                break
            }
        }
    }

    static func talkToAgent(
        socketPath: String,
        agentID: String,
        agentKeyringPath: String
    ) async throws -> String {
        let agent = AgentClient(
            endpoint: try AgentEndpoint(
                socketPath: socketPath,
                agentID: agentID,
                keyringFile: agentKeyringPath
            )
        )
        let health = try await agent.health()
        print("agent \(health.agentVersion): \(health.status), \(health.runningJobs) job(s) running")
        return health.status
    }
}

@Suite("The getting-started article")
struct GettingStartedTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Lines without their indentation, blank lines dropped.
    static func normalized(_ text: String) -> [String] {
        text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    @Test("every swift block of the article is compiled code from this file")
    func snippetsCompile() throws {
        let article = try String(
            contentsOf: Self.root.appendingPathComponent(
                "Sources/Client/RollbackClient.docc/GettingStarted.md"
            ),
            encoding: .utf8
        )
        let source = Self.normalized(try String(contentsOf: URL(fileURLWithPath: #filePath), encoding: .utf8))
        let blocks = article.components(separatedBy: "```swift\n").dropFirst().map {
            Self.normalized(String($0.prefix(while: { _ in true }).components(separatedBy: "```")[0]))
        }
        #expect(blocks.count == 5)
        for block in blocks {
            let found = source.indices.contains { start in
                start + block.count <= source.count && Array(source[start..<start + block.count]) == block
            }
            #expect(found, "not in GettingStartedTests.swift: \(block.joined(separator: "\n"))")
        }
    }

    @Test("the snippets work against a real broker and agent")
    func snippetsRun() async throws {
        try await DispatchTests.withHost { host in
            let scene = try DispatchTests.Scene(host: host)
            try await BrokerHarness.with(roles: [.api, .dispatch], agents: [host]) { broker in
                let project = try await scene.project(on: broker)
                try await broker.execute("UPDATE projects SET user_id = 'alice' WHERE id = '\(project)'")
                let keyring = BrokerHarness.writeClientKeyring(in: host.directory)
                let client = try GettingStartedSnippets.makeClient(
                    brokerURL: "http://127.0.0.1:\(broker.port)",
                    keyringPath: keyring
                )
                let outcome = try await GettingStartedSnippets.rollBackAndWait(
                    client,
                    user: "alice",
                    projectID: project,
                    targetVersion: scene.v1ID
                )
                guard case .completed = outcome else {
                    Issue.record("expected completion, got \(outcome)")
                    return
                }
                await GettingStartedSnippets.handleErrors(client, projectID: project)
                try await GettingStartedSnippets.followEvents(client, projectID: project)
                let status = try await GettingStartedSnippets.talkToAgent(
                    socketPath: host.socketPath,
                    agentID: host.name,
                    agentKeyringPath: host.keyringPath
                )
                #expect(status == "ok")
            }
        }
    }
}
