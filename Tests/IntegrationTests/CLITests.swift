import Foundation
import RollbackBroker
import RollbackClient
import RollbackProtocol
import TestSupport
import Testing

/// `rollbackctl` as a user runs it: real processes against a real broker and agent, checking
/// exit codes and that `--json` output parses back into the API's types.
@Suite("rollbackctl: exit codes and --json")
struct CLITests {
    typealias Run = ChildProcess.Finished

    /// Runs rollbackctl with the broker's URL and a keyring file in its environment.
    static func rollbackctl(
        _ arguments: [String],
        broker: BrokerHarness? = nil,
        keyring: String? = nil
    ) async throws -> Run {
        var environment = ["ROLLBACK_USER": "cli-user"]
        if let broker { environment["ROLLBACK_BROKER_URL"] = "http://127.0.0.1:\(broker.port)" }
        if let keyring { environment["ROLLBACK_BROKER_KEYRING"] = keyring }
        return try await run("rollbackctl", arguments, environment: environment)
    }

    /// Runs one of the package's programs to the end and collects its exit status and output.
    static func run(
        _ program: String,
        _ arguments: [String],
        environment: [String: String] = [:]
    ) async throws -> Run {
        try await ChildProcess.run(ChildProcess.packageProgram(program), arguments, environment: environment)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(type, from: Data(text.utf8))
    }

    struct RollbackReport: Decodable {
        var accepted: RollbackAccepted
        var outcome: String?
        var completed: RollbackCompletedEvent?
        var failed: RollbackFailedEvent?
    }

    struct EventLine: Decodable {
        var id: Int64
        var type: String
    }

    @Test(
        "rollback --wait --json, status, versions, jobs show, events, publish, agent health: JSON parses back"
    )
    func jsonOutput() async throws {
        try await DispatchTests.withHost { host in
            let scene = try DispatchTests.Scene(host: host)
            try await BrokerHarness.with(roles: [.api, .dispatch], agents: [host]) { broker in
                let project = try await scene.project(on: broker)
                try await broker.execute("UPDATE projects SET user_id = 'cli-user' WHERE id = '\(project)'")
                let keyring = BrokerHarness.writeClientKeyring(in: host.directory)
                func ctl(_ arguments: String...) async throws -> Run {
                    try await Self.rollbackctl(arguments, broker: broker, keyring: keyring)
                }

                let rolled = try await ctl(
                    "rollback",
                    "--project",
                    project,
                    "--to",
                    scene.v1ID,
                    "--wait",
                    "--json"
                )
                #expect(rolled.status == 0, "\(rolled.stderr)")
                let report = try Self.decode(RollbackReport.self, rolled.stdout)
                #expect(
                    report.outcome == "completed"
                        && report.completed?.rollbackVersionID == report.accepted.rollbackVersionID
                )

                let status = try await ctl("status", project, "--json")
                #expect(try Self.decode(ProjectView.self, status.stdout).status == .deployed)
                let versions = try await ctl("versions", project, "--json")
                #expect(try Self.decode(VersionList.self, versions.stdout).versions.count == 3)
                let job = try await ctl("jobs", "show", try #require(report.accepted.jobID), "--json")
                #expect(try Self.decode(JobView.self, job.stdout).state == .succeeded)
                let events = try await ctl("events", project, "--json")
                let lines = try events.stdout.split(separator: "\n").map {
                    try Self.decode(EventLine.self, String($0))
                }
                #expect(lines.first?.type == "rollbackStarted" && lines.last?.type == "rollbackCompleted")
                let published = try await ctl("publish", report.accepted.rollbackVersionID, "--json")
                #expect(try Self.decode(VersionView.self, published.stdout).published)

                // Human output: the project on one line, how its version became current on the next.
                let human = try await ctl("status", project)
                let humanLines = human.stdout.split(separator: "\n")
                #expect(human.status == 0 && humanLines.count == 2 && humanLines[0].contains("deployed"))
                #expect(
                    humanLines.last?.hasPrefix("current: \(report.accepted.rollbackVersionID) (rollback of ")
                        == true,
                    "\(human.stdout)"
                )
                #expect(humanLines.last?.contains("rollbackStarted by cli-user") == true, "\(human.stdout)")

                let health = try await Self.rollbackctl([
                    "agent", "health", "--json", "--socket", host.socketPath, "--agent-id", host.name,
                    "--keyring",
                    host.keyringPath,
                ])
                #expect(try Self.decode(AgentHealth.Result.self, health.stdout).status == "ok")
            }
        }
    }

    @Test("exit codes: 1 refused, 2 usage or configuration, 3 unreachable, 4 the rollback failed")
    func exitCodes() async throws {
        try await DispatchTests.withHost { host in
            let scene = try DispatchTests.Scene(host: host)
            try await BrokerHarness.with(roles: [.api, .dispatch], agents: [host]) { broker in
                let project = try await scene.project(on: broker, v1Artifact: scene.corruptV1)
                try await broker.execute("UPDATE projects SET user_id = 'cli-user' WHERE id = '\(project)'")
                let keyring = BrokerHarness.writeClientKeyring(in: host.directory)

                let missing = try await Self.rollbackctl(
                    ["status", "nope-\(project)"],
                    broker: broker,
                    keyring: keyring
                )
                #expect(missing.status == 1 && missing.stderr.hasPrefix("rollbackctl: project_not_found"))
                #expect(missing.stderr.split(separator: "\n").count == 1, "one line: \(missing.stderr)")

                let usage = try await Self.rollbackctl(
                    ["rollback", "--to", "v1"],
                    broker: broker,
                    keyring: keyring
                )
                #expect(usage.status == 2)
                let noKey = try await Self.rollbackctl(
                    ["status", project],
                    broker: broker,
                    keyring: "\(host.directory)/absent.json"
                )
                #expect(noKey.status == 2 && noKey.stderr.contains("absent.json"))

                var unreachable = try await Self.rollbackctl(
                    ["status", project, "--broker-url", "http://127.0.0.1:1"],
                    keyring: keyring
                )
                #expect(unreachable.status == 3 && unreachable.stderr.contains("unreachable"))
                unreachable = try await Self.rollbackctl([
                    "agent", "health", "--socket", "\(host.directory)/none.sock", "--agent-id", "x",
                    "--keyring",
                    host.keyringPath,
                ])
                #expect(unreachable.status == 3)

                let failed = try await Self.rollbackctl(
                    ["rollback", "--project", project, "--to", scene.v1ID, "--wait"],
                    broker: broker,
                    keyring: keyring
                )
                #expect(failed.status == 4, "\(failed.stdout) \(failed.stderr)")
                #expect(failed.stderr.contains("artifact_rejected") && failed.stderr.contains("undone"))
                #expect(failed.stdout.contains("rolling back"), "plain progress lines when not on a terminal")

                let help = try await Self.rollbackctl(["--help"])
                #expect(help.status == 0 && help.stdout.contains("Exit codes"))
            }
        }
    }

    @Test("rollback --dry-run and cancel: --json parses back; bad input is one line with its exit code")
    func dryRunAndCancel() async throws {
        try await PreviewAndCancelTests.withPausingHost(at: "before-point-of-no-return") { host, pause in
            let scene = try DispatchTests.Scene(host: host)
            try await BrokerHarness.with(roles: [.api, .dispatch], agents: [host]) { broker in
                let project = try await scene.project(on: broker)
                try await broker.execute("UPDATE projects SET user_id = 'cli-user' WHERE id = '\(project)'")
                let keyring = BrokerHarness.writeClientKeyring(in: host.directory)
                func ctl(_ arguments: String...) async throws -> Run {
                    try await Self.rollbackctl(arguments, broker: broker, keyring: keyring)
                }
                let tree = try PreviewAndCancelTests.snapshot(host.workingDirectory(project))

                let dry = try await ctl("rollback", "--project", project, "--dry-run", "--json")
                #expect(dry.status == 0, "\(dry.stderr)")
                let preview = try Self.decode(RollbackPreview.self, dry.stdout)
                #expect(preview.targetVersionID == scene.v1ID && preview.counts.added == 1)
                let human = try await ctl("rollback", "--project", project, "--dry-run")
                #expect(
                    human.stdout.contains("would change 3 file(s)")
                        && human.stdout.contains("  + app/main.js")
                )
                let selective = try await ctl(
                    "rollback",
                    "--project",
                    project,
                    "--dry-run",
                    "--only",
                    "app",
                    "--json"
                )
                #expect(
                    try Self.decode(RollbackPreview.self, selective.stdout).counts
                        == .init(added: 1, changed: 0, removed: 0, unchanged: 2),
                    "\(selective.stderr)"
                )
                let badOnly = try await ctl("rollback", "--project", project, "--only", "../etc")
                #expect(badOnly.status == 2 && badOnly.stderr.contains("--only must be"))
                let badLimit = try await ctl("rollback", "--project", project, "--dry-run", "--limit", "5000")
                #expect(badLimit.status == 2 && badLimit.stderr.split(separator: "\n").count == 1)

                let started = try await ctl("rollback", "--project", project, "--reason", "oops", "--json")
                #expect(started.status == 0, "\(started.stderr)")
                try await pause.waitUntilReached()
                let canceled = try await ctl("cancel", project, "--reason", "wrong version", "--json")
                #expect(canceled.status == 0, "\(canceled.stderr)")
                let answer = try Self.decode(RollbackCancellation.self, canceled.stdout)
                #expect(answer.state == .canceled && answer.restoredVersionID == scene.v2ID)
                #expect(try PreviewAndCancelTests.snapshot(host.workingDirectory(project)) == tree)
                let again = try await ctl("cancel", project)
                #expect(again.status == 0 && again.stdout.contains("canceled; nothing was changed"))

                let missing = try await ctl("cancel", "p-missing")
                #expect(missing.status == 1 && missing.stderr.contains("project_not_found"))
                #expect(missing.stderr.split(separator: "\n").count == 1)
                let usage = try await ctl("cancel")
                #expect(usage.status == 2 && usage.stderr.contains("--help"))
                pause.release()
            }
        }
    }
}
