import Metrics
import RollbackProtocol

/// The agent's metrics (swift-metrics; the process decides the backend):
///
/// - `rollback_agent_sync_phase_seconds{phase}`: time spent in each phase of a sync;
/// - `rollback_agent_sync_duration_seconds{outcome}`: whole syncs, by outcome;
/// - `rollback_agent_sync_failures_total{reason}`: failed syncs by the error's reason (or name);
/// - `rollback_agent_artifact_fetches_total{source}`: artifacts fetched, by `cache` or `download`;
/// - `rollback_agent_bytes_total{kind}`: bytes `downloaded`, and `written` into working directories.
///
/// `rollback-agent` serves them at `/metrics` when `metricsListen` is set.
enum SyncMetrics {
    static func recordFetch(fromCache: Bool, bytes: Int64) {
        Counter(
            label: "rollback_agent_artifact_fetches_total",
            dimensions: [("source", fromCache ? "cache" : "download")]
        ).increment()
        if !fromCache {
            Counter(label: "rollback_agent_bytes_total", dimensions: [("kind", "downloaded")]).increment(
                by: bytes
            )
        }
    }

    static func recordPhase(_ phase: String, milliseconds: Int64) {
        Metrics.Timer(label: "rollback_agent_sync_phase_seconds", dimensions: [("phase", phase)])
            .recordMilliseconds(milliseconds)
    }

    static func recordOutcome(_ outcome: Result<WorkdirSync.Result, RPCError>, duration: Duration) {
        let label: String
        switch outcome {
        case .success(let result):
            label = "succeeded"
            Counter(label: "rollback_agent_bytes_total", dimensions: [("kind", "written")])
                .increment(by: result.bytesWritten)
        case .failure(let error):
            label = error.code == .cancelled ? "cancelled" : "failed"
            Counter(
                label: "rollback_agent_sync_failures_total",
                dimensions: [("reason", error.details["reason"] ?? error.code.name)]
            )
            .increment()
        }
        Metrics.Timer(label: "rollback_agent_sync_duration_seconds", dimensions: [("outcome", label)])
            .recordNanoseconds(
                duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
            )
    }
}
