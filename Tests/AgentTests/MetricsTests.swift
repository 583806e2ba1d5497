import Foundation
import Logging
import Metrics
import MetricsTestKit
import RollbackAgent
import RollbackProtocol
import Testing

@Suite("Agent metrics")
struct MetricsTests {
    @Test("syncs record phase durations, outcomes, and failures by reason")
    func metricsRecorded() async throws {
        // The only test that bootstraps metrics; it runs the agent in-process to read them.
        let metrics = TestMetrics()
        MetricsSystem.bootstrap(metrics)
        let harness = try AgentHarness()
        defer { harness.shutdown() }
        var configuration = AgentConfiguration()
        configuration.agentID = AgentHarness.agentID
        configuration.socketPath = harness.socketPath
        configuration.keyringFile = harness.keyringPath
        configuration.workRoot = harness.workRoot
        configuration.stateDirectory = harness.stateDirectory
        let agent = try await RollbackAgent.start(
            configuration: configuration,
            logger: Logger(label: "test.agent")
        )
        let running = Task { try await agent.run() }
        defer { running.cancel() }

        try harness.makeProject("m1", files: ["a.txt": "one"])
        let artifact = try harness.makeArtifact("m", files: ["a.txt": "two"])
        _ = try await harness.call(
            WorkdirSync.self,
            harness.syncParams(job: "job-m1", project: "m1", artifact: artifact)
        )
        var wrong = artifact
        wrong.sha256 = String(repeating: "1", count: 64)
        _ = try? await harness.call(
            WorkdirSync.self,
            harness.syncParams(job: "job-m2", project: "m1", artifact: wrong, epoch: 2)
        )

        for phase in ["downloading", "extracting", "swapping", "committing"] {
            #expect(
                try metrics.expectTimer("rollback_agent_sync_phase_seconds", [("phase", phase)]).values.count
                    == 1,
                "\(phase)"
            )
        }
        #expect(
            try metrics.expectTimer("rollback_agent_sync_duration_seconds", [("outcome", "succeeded")]).values
                .count == 1
        )
        #expect(
            try metrics.expectTimer("rollback_agent_sync_duration_seconds", [("outcome", "failed")]).values
                .count == 1
        )
        #expect(
            try metrics.expectCounter("rollback_agent_sync_failures_total", [("reason", "checksum_mismatch")])
                .totalValue == 1
        )
        running.cancel()
        try await running.value  // the agent stops and removes its socket before the test ends
        #expect(!FileManager.default.fileExists(atPath: harness.socketPath))
    }
}
