import Foundation
import TestSupport

/// A real `rollback-broker dispatch` process for one host, against the broker harness's
/// PostgreSQL and Redis (same key prefix), so a test can kill it with SIGKILL.
final class DispatcherProcess: @unchecked Sendable {
    // @unchecked: only touched by the one test that owns it.
    private let arguments: [String]
    private let environment: [String: String]
    private let logPath: String
    private var child: ChildProcess?

    init(broker: BrokerHarness, host: AgentHost) throws {
        logPath = "\(host.directory)/dispatcher.log"
        let configuration = broker.server.configuration
        let brokerKeyring = BrokerHarness.writeClientKeyring(in: host.directory)
        arguments = [
            "dispatch", "--agent", "\(host.name)=\(host.socketPath)", "--agent-keyring", host.keyringPath,
            "--keyring", brokerKeyring, "--port", "0", "--log-level", "debug",
            "--set", "jobLeaseSeconds=3", "--set", "safetyNetPollMilliseconds=1000",
            "--set", "redisKeyPrefix=\(configuration.redisKeyPrefix)", "--set", "migrateOnStart=false",
        ]
        environment = [
            "ROLLBACK_BROKER_POSTGRES_URL": configuration.postgresURL,
            "ROLLBACK_BROKER_REDIS_URL": configuration.redisURL,
        ]
    }

    func start() throws {
        child = try ChildProcess(
            ChildProcess.packageProgram("rollback-broker"),
            arguments,
            environment: environment,
            stdout: .file(logPath),
            stderr: .file(logPath),
            name: "rollback-broker dispatch"
        )
    }

    func kill() { child?.kill() }

    /// Sends SIGTERM and waits for the exit status.
    func terminate() async throws -> Int32 {
        guard let child else { throw HarnessError("the dispatcher was never started") }
        return try await child.stop(timeout: .seconds(20))
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}
