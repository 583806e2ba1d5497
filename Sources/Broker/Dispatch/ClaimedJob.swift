import Foundation
import PostgresNIO
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

extension ClaimedJob {
    /// What a job is read with: `jobs j` joined with its version `v` (for the artifact).
    static let columns = """
        j.id, j.project_id, j.version_id, j.target_version_id, j.host, j.epoch, j.attempts, j.max_attempts,
        v.artifact_url, v.artifact_sha256, v.artifact_size, j.trace_parent, j.created_at,
        j.cancel_requested_at IS NOT NULL AS cancel_requested, j.selective_paths::text AS only
        """

    /// Decodes a row selected with `columns`.
    init(_ columns: PostgresRandomAccessRow, rescued: Bool) throws {
        self.init(
            id: try columns["id"].decode(UUID.self),
            projectID: try columns["project_id"].decode(String.self),
            versionID: try columns["version_id"].decode(String.self),
            targetVersionID: try columns["target_version_id"].decode(String.self),
            host: try columns["host"].decode(String.self),
            epoch: try columns["epoch"].decode(Int64.self),
            attempts: try columns["attempts"].decode(Int.self),
            maxAttempts: try columns["max_attempts"].decode(Int.self),
            artifact: WorkdirSync.Artifact(
                url: try columns["artifact_url"].decode(String?.self) ?? "",
                sha256: try columns["artifact_sha256"].decode(String?.self) ?? "",
                sizeBytes: try columns["artifact_size"].decode(Int64?.self) ?? 0
            ),
            traceParent: try columns["trace_parent"].decode(String?.self),
            createdAt: try columns["created_at"].decode(Date.self),
            rescued: rescued,
            cancelRequested: try columns["cancel_requested"].decode(Bool.self),
            only: try columns["only"].decode(String?.self).flatMap {
                try? JSONDecoder().decode([String].self, from: Data($0.utf8))
            }
        )
    }
}
