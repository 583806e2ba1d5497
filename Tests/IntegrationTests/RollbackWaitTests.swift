import Foundation
import RollbackProtocol
import TestSupport
import Testing

/// `rollbackctl rollback --wait` as an operator watches it: time and an estimate on every update,
/// and a line when the dispatcher retries instead of a silent bar.
@Suite("rollbackctl rollback --wait: elapsed, ETA, retries")
struct RollbackWaitTests {
    @Test(
        "an unreachable agent: --wait says the dispatcher is retrying, then completes when the agent is back"
    )
    func retriesAreShown() async throws {
        let host = try await AgentHost()
        defer { host.shutdown() }
        let scene = try DispatchTests.Scene(host: host)
        try await BrokerHarness.with(
            roles: [.api, .dispatch],
            agents: [host],
            configure: { $0.retryBackoffMilliseconds = 8000 }
        ) { broker in
            let project = try await scene.project(on: broker)
            try await broker.execute("UPDATE projects SET user_id = 'cli-user' WHERE id = '\(project)'")
            let keyring = BrokerHarness.writeClientKeyring(in: host.directory)
            let log = "\(host.directory)/rollbackctl.out"
            // The agent is not started: the first attempt cannot reach it.
            let ctl = try ChildProcess(
                ChildProcess.packageProgram("rollbackctl"),
                ["rollback", "--project", project, "--to", scene.v1ID, "--wait"],
                environment: [
                    "ROLLBACK_BROKER_URL": "http://127.0.0.1:\(broker.port)",
                    "ROLLBACK_BROKER_KEYRING": keyring,
                    "ROLLBACK_USER": "cli-user",
                ],
                stdout: .file(log),
                stderr: .file(log)
            )
            defer { ctl.kill() }
            try await waitUntil(timeout: .seconds(30), "rollbackctl to report the retry") {
                ctl.output.contains("the dispatcher is retrying")
            }
            #expect(ctl.output.contains("attempt 1 failed ("), "\(ctl.output)")
            try await host.start()
            let status = try await ctl.waitForExit(timeout: .seconds(60))
            #expect(status == 0, "\(ctl.output)")
            let lines = ctl.output.split(separator: "\n")
            #expect(lines.contains { $0.hasPrefix("completed in ") }, "\(ctl.output)")
            // Progress lines carry the time so far, and an estimate once 5 % is done.
            #expect(lines.contains { $0.hasPrefix("100% done") && $0.hasSuffix(" s)") }, "\(ctl.output)")
            #expect(lines.contains { $0.contains(" s left)") }, "\(ctl.output)")
        }
    }

    @Test("--print-config warns about configured paths that do not exist, and still prints plain JSON")
    func printConfigWarnings() async throws {
        let agent = try await ChildProcess.run(
            ChildProcess.packageProgram("rollback-agent"),
            ["--print-config", "--work-root", "/nonexistent-work-root"]
        )
        #expect(agent.status == 0, "\(agent.stderr)")
        #expect(
            agent.stderr.contains("rollback-agent: warning: workRoot /nonexistent-work-root does not exist")
        )
        #expect(
            agent.stdout.contains(#""workRoot" : "/nonexistent-work-root""#),
            "no escaped slashes: \(agent.stdout)"
        )
        let broker = try await ChildProcess.run(
            ChildProcess.packageProgram("rollback-broker"),
            ["print-config", "--keyring", "/nonexistent/keyring.json"]
        )
        #expect(broker.status == 0, "\(broker.stderr)")
        #expect(
            broker.stderr.contains(
                "rollback-broker: warning: keyringFile /nonexistent/keyring.json does not exist"
            )
        )
        #expect((try? JSONSerialization.jsonObject(with: Data(broker.stdout.utf8))) != nil)
    }
}
