import Metrics
import RollbackProtocol

/// The agent's metrics (swift-metrics; the process decides the backend):
///
/// - `rollback_agent_sync_phase_seconds{phase}`: time spent in each phase of a sync;
/// - `rollback_agent_sync_duration_seconds{outcome}`: whole syncs, by outcome;
/// - `rollback_agent_sync_failures_total{reason}`: failed syncs by the error's reason (or name).
enum SyncMetrics {
    static func recordPhase(_ phase: String, milliseconds: Int64) {
        Metrics.Timer(label: "rollback_agent_sync_phase_seconds", dimensions: [("phase", phase)])
            .recordMilliseconds(milliseconds)
    }

    static func recordOutcome(_ outcome: Result<WorkdirSync.Result, RPCError>, duration: Duration) {
        let label: String
        switch outcome {
        case .success: label = "succeeded"
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
