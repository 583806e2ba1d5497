import Foundation
import RollbackProtocol

/// A job a dispatcher holds the lease of, with what it needs to ask the agent for a sync.
struct ClaimedJob: Sendable {
    var id: UUID
    var projectID: String
    var versionID: String
    var targetVersionID: String
    var host: String
    var epoch: Int64
    /// Attempts started so far, this one included.
    var attempts: Int
    var maxAttempts: Int
    var artifact: WorkdirSync.Artifact
    var traceParent: String?
    var createdAt: Date
    /// The job was `running` under another dispatcher whose lease expired: that dispatcher died
    /// or lost touch, and the agent may have the sync running or finished.
    var rescued: Bool
    /// Someone asked to cancel the rollback (`POST /v1/projects/{id}/rollback/cancel`) while
    /// this job ran under another dispatcher or between attempts.
    var cancelRequested = false
    /// A selective rollback's paths (`RollbackRequest.only`).
    var only: [String]? = nil

    var idText: String { id.uuidString.lowercased() }

    /// The agent's job id for attempt `attempt`: one per attempt, because an agent keeps a
    /// finished job's outcome under its id and never runs the same id twice.
    func agentJobID(attempt: Int) -> String { "\(idText).\(attempt)" }

    func syncParams(attempt: Int) -> WorkdirSync.Params {
        WorkdirSync.Params(
            jobID: agentJobID(attempt: attempt),
            projectID: projectID,
            rollbackVersionID: versionID,
            targetVersionID: targetVersionID,
            artifact: artifact,
            epoch: epoch,
            only: only
        )
    }
}
