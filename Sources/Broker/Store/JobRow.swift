import Foundation
import Logging
import PostgresNIO
import RollbackProtocol

/// A row of `jobs`: the durable queue the dispatcher claims from.
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

    static func find(_ id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> JobRow? {
        let rows = try await connection.query(
            """
            SELECT id, project_id, version_id, target_version_id, host, state, epoch, attempts, progress_percent,
                phase, error_code, error_message, created_at, started_at, finished_at
            FROM jobs WHERE id = \(id)
            """,
            logger: logger
        )
        for try await row in rows {
            let (id, project, version, target, host, state, epoch, attempts, percent, phase, code, message) =
                try row.decode(
                    (UUID, String, String, String, String, String, Int64, Int, Int, String?, String?, String?)
                        .self
                )
            let columns = row.makeRandomAccess()
            let (created, started, finished) = try (
                columns[12].decode(Date.self), columns[13].decode(Date?.self), columns[14].decode(Date?.self)
            )
            return JobRow(
                id: id,
                projectID: project,
                versionID: version,
                targetVersionID: target,
                host: host,
                state: QueueJobState(rawValue: state) ?? .failed,
                epoch: epoch,
                attempts: attempts,
                progressPercent: percent,
                phase: phase,
                errorCode: code,
                errorMessage: message,
                createdAt: created,
                startedAt: started,
                finishedAt: finished
            )
        }
        return nil
    }

    var view: JobView {
        JobView(
            jobId: id.uuidString.lowercased(),
            projectId: projectID,
            versionId: versionID,
            targetVersionId: targetVersionID,
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
