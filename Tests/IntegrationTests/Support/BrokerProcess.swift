import Foundation
import RollbackProtocol
import TestSupport

/// A real `rollback-broker` process against the CI's PostgreSQL and Redis, on a port it picks
/// and logs: `run` (API and dispatcher) for one agent host, or any subcommand and flags.
final class BrokerProcess: Sendable {
    private let child: ChildProcess
    let port: Int
    var url: String { "http://127.0.0.1:\(port)" }

    private init(child: ChildProcess, port: Int) {
        self.child = child
        self.port = port
    }

    /// `rollback-broker run` for `host`, with the web tier's keyring.
    static func start(
        host: AgentHost,
        extraArguments: [String],
        environment: [String: String]
    ) async throws -> BrokerProcess {
        let keyring = BrokerHarness.writeClientKeyring(in: host.directory)
        return try await start(
            [
                "run", "--agent", "\(host.name)=\(host.socketPath)", "--agent-keyring", host.keyringPath,
                "--keyring", keyring, "--set", "safetyNetPollMilliseconds=1000",
            ] + extraArguments,
            logPath: "\(host.directory)/broker.log",
            environment: environment
        )
    }

    /// `rollback-broker` with `arguments` (a subcommand first), on port 0 and its own Redis key
    /// prefix; waits until it logs its port.
    static func start(
        _ arguments: [String],
        logPath: String,
        environment: [String: String] = [:]
    ) async throws -> BrokerProcess {
        let child = try ChildProcess(
            ChildProcess.packageProgram("rollback-broker"),
            arguments + [
                "--port", "0", "--set", "redisKeyPrefix=test-\(UInt32.random(in: 0...UInt32.max))",
                // Only the webhook tests' brokers send webhooks (one shared database).
                "--set", "webhookConcurrency=0",
            ],
            environment: environment.merging([
                "ROLLBACK_BROKER_POSTGRES_URL": try TestEnvironment.postgresURL(),
                "ROLLBACK_BROKER_REDIS_URL": try TestEnvironment.redisURL(),
            ]) { $1 },
            stdout: .file(logPath),
            stderr: .file(logPath),
            name: "rollback-broker \(arguments.first ?? "")"
        )
        var port = 0
        do {
            try await waitUntil(timeout: .seconds(30), "rollback-broker to listen") {
                guard child.isRunning else { throw HarnessError("rollback-broker exited: \(child.output)") }
                let log = child.output
                guard let range = log.range(of: #"http\.port=[0-9]+"#, options: .regularExpression) else {
                    return false
                }
                port = Int(log[range].dropFirst("http.port=".count)) ?? 0
                return port > 0
            }
        } catch {
            child.kill()
            throw error
        }
        return BrokerProcess(child: child, port: port)
    }

    /// SIGTERM, and waits for the exit.
    func stop() async throws { try await child.stop() }

    func kill() { child.kill() }

    /// Sends a signal (SIGHUP: reload the keyring).
    func signal(_ number: Int32) { child.signal(number) }

    var log: String { child.output }
}
