import Foundation
import TestSupport

/// A real `rollback-broker dispatch` process for one host, against the broker harness's
/// PostgreSQL and Redis (same key prefix), so a test can kill it with SIGKILL.
final class DispatcherProcess: @unchecked Sendable {
    // @unchecked: only touched by the one test that owns it.
    private let process = Process()
    private let logPath: String

    init(broker: BrokerHarness, host: AgentHost) throws {
        logPath = "\(host.directory)/dispatcher.log"
        let configuration = broker.server.configuration
        let brokerKeyring = BrokerHarness.writeClientKeyring(in: host.directory)
        process.executableURL = AgentHost.executableDirectory.appendingPathComponent("rollback-broker")
        process.arguments = [
            "dispatch", "--agent", "\(host.name)=\(host.socketPath)", "--agent-keyring", host.keyringPath,
            "--keyring", brokerKeyring, "--port", "0", "--log-level", "debug",
            "--set", "jobLeaseSeconds=3", "--set", "dispatchPollMilliseconds=50",
            "--set", "redisKeyPrefix=\(configuration.redisKeyPrefix)", "--set", "migrateOnStart=false",
        ]
        process.environment = ProcessInfo.processInfo.environment.merging([
            "ROLLBACK_BROKER_POSTGRES_URL": configuration.postgresURL,
            "ROLLBACK_BROKER_REDIS_URL": configuration.redisURL,
        ]) { $1 }
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = log
        process.standardError = log
    }

    func start() throws { try process.run() }

    func kill() {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Sends SIGTERM and waits for the exit status.
    func terminate() async throws -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        Foundation.kill(process.processIdentifier, SIGTERM)
        let exited = try await eventually(timeout: .seconds(20)) { !self.process.isRunning }
        guard exited else { throw HarnessError("the dispatcher ignored SIGTERM: \(log)") }
        return process.terminationStatus
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}
