import Foundation
import Logging
import Metrics
import MetricsTestKit
import RollbackAgent
import RollbackProtocol
import RollbackRuntime
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

    @Test("rollback-agent serves /metrics when asked: the sync histogram by phase, bytes, cache fetches")
    func scrapeAfterSync() async throws {
        let agent = try AgentHarness()
        defer { agent.shutdown() }
        let endpoint = "\(agent.directory)/metrics.sock"
        try await agent.start(["--set", "metricsListen=unix:\(endpoint)"])
        try agent.makeProject("scraped", files: ["a.txt": "one"])
        let artifact = try agent.makeArtifact("scraped-v2", files: ["a.txt": "two", "b.txt": "new"])
        for (job, epoch) in [("job-s1", Int64(1)), ("job-s2", 2)] {
            _ = try await agent.call(
                WorkdirSync.self,
                agent.syncParams(
                    job: job,
                    project: "scraped",
                    artifact: artifact,
                    epoch: epoch,
                    rollbackVersion: job
                )
            )
        }
        let text = try Shell.run([
            "curl", "-sS", "--fail", "--unix-socket", endpoint, "http://localhost/metrics",
        ])
        for phase in ["downloading", "verifying", "extracting", "swapping", "committing"] {
            #expect(
                text.contains(#"rollback_agent_sync_phase_seconds_count{phase="\#(phase)"} 2"#),
                "\(phase) in:\n\(text)"
            )
            #expect(text.contains(#"rollback_agent_sync_phase_seconds_bucket{phase="\#(phase)",le="#))
        }
        #expect(text.contains(#"rollback_agent_sync_duration_seconds_count{outcome="succeeded"} 2"#))
        #expect(text.contains(#"rollback_agent_artifact_fetches_total{source="download"} 1"#))
        #expect(text.contains(#"rollback_agent_artifact_fetches_total{source="cache"} 1"#))
        #expect(
            text.contains(
                #"rollback_agent_build_info{version="\#(BuildInfo.version)",commit="\#(BuildInfo.commit)"} 1"#
            )
        )
        #expect(text.contains(#"rollback_agent_bytes_total{kind="downloaded"} \#(artifact.sizeBytes)"#))
        // Anything but GET /metrics is a 404, and the endpoint goes away with the agent.
        let other = try Shell.run([
            "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--unix-socket", endpoint,
            "http://localhost/",
        ])
        #expect(other == "404")
        try await agent.stop()
        #expect(!FileManager.default.fileExists(atPath: endpoint))
    }
}
