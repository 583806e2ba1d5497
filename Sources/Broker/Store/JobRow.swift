import Foundation
import Logging
import PostgresNIO
import RollbackProtocol

/// A row of `jobs`, as `GET /v1/jobs/{id}` shows it (read by `JobStore`; the dispatcher's side
/// of the table is `JobQueue`).
struct JobRow: Sendable {
    var id: UUID
    var projectID: String
    var versionID: String
    var targetVersionID: String
    var host: String
    var state: QueueJobState
    var epoch: Int64
    var attempts: Int
    var progressPercent: Int
    var phase: String?
    var errorCode: String?
    var errorMessage: String?
    var createdAt: Date
    var startedAt: Date?
    var finishedAt: Date?

    var view: JobView {
        JobView(
            jobID: id.uuidString.lowercased(),
            projectID: projectID,
            versionID: versionID,
            targetVersionID: targetVersionID,
            state: state,
            epoch: epoch,
            attempts: attempts,
            progressPercent: progressPercent,
            phase: phase,
            errorCode: errorCode,
            errorMessage: errorMessage,
            createdAt: createdAt,
            startedAt: startedAt,
            finishedAt: finishedAt
        )
    }
}

extension JobRow {
    /// Decodes a row of `jobs` by column name.
    init(_ row: PostgresRandomAccessRow) throws {
        id = try row["id"].decode(UUID.self)
        projectID = try row["project_id"].decode(String.self)
        versionID = try row["version_id"].decode(String.self)
        targetVersionID = try row["target_version_id"].decode(String.self)
        host = try row["host"].decode(String.self)
        state = QueueJobState(rawValue: try row["state"].decode(String.self)) ?? .failed
        epoch = try row["epoch"].decode(Int64.self)
        attempts = try row["attempts"].decode(Int.self)
        progressPercent = try row["progress_percent"].decode(Int.self)
        phase = try row["phase"].decode(String?.self)
        errorCode = try row["error_code"].decode(String?.self)
        errorMessage = try row["error_message"].decode(String?.self)
        createdAt = try row["created_at"].decode(Date.self)
        startedAt = try row["started_at"].decode(Date?.self)
        finishedAt = try row["finished_at"].decode(Date?.self)
    }
}
