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
            let columns = row.makeRandomAccess()
            return JobRow(
                id: try columns[0].decode(UUID.self),
                projectID: try columns[1].decode(String.self),
                versionID: try columns[2].decode(String.self),
                targetVersionID: try columns[3].decode(String.self),
                host: try columns[4].decode(String.self),
                state: QueueJobState(rawValue: try columns[5].decode(String.self)) ?? .failed,
                epoch: try columns[6].decode(Int64.self),
                attempts: try columns[7].decode(Int.self),
                progressPercent: try columns[8].decode(Int.self),
                phase: try columns[9].decode(String?.self),
                errorCode: try columns[10].decode(String?.self),
                errorMessage: try columns[11].decode(String?.self),
                createdAt: try columns[12].decode(Date.self),
                startedAt: try columns[13].decode(Date?.self),
                finishedAt: try columns[14].decode(Date?.self)
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
