import Foundation
import Logging
import PostgresNIO
import RollbackProtocol

/// A row of `projects`.
struct ProjectRow: Sendable {
    var id: String
    var userID: String
    var host: String
    var status: ProjectStatus
    var currentVersionID: String?
    var previewURL: String?
    var epoch: Int64
    var activeJobID: UUID?
    var updatedAt: Date

    static let columns =
        "id, user_id, host, status, current_version_id, preview_url, epoch, active_job_id, updated_at"

    /// Reads one project; `lock` adds `FOR SHARE` (a rollback's update then waits for us).
    static func find(
        _ id: String,
        lockForShare: Bool = false,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> ProjectRow? {
        let suffix = lockForShare ? " FOR SHARE" : ""
        let rows = try await connection.query(
            "SELECT \(unescaped: columns) FROM projects WHERE id = \(id)\(unescaped: suffix)",
            logger: logger
        )
        for try await (id, user, host, status, current, preview, epoch, job, updated) in rows.decode(
            (String, String, String, String, String?, String?, Int64, UUID?, Date).self
        ) {
            return ProjectRow(
                id: id,
                userID: user,
                host: host,
                status: ProjectStatus(rawValue: status) ?? .failed,
                currentVersionID: current,
                previewURL: preview,
                epoch: epoch,
                activeJobID: job,
                updatedAt: updated
            )
        }
        return nil
    }

    var view: ProjectView {
        ProjectView(
            projectId: id,
            userId: userID,
            host: host,
            status: status,
            currentVersionId: currentVersionID,
            previewUrl: previewURL,
            epoch: epoch,
            activeJobId: activeJobID.map { $0.uuidString.lowercased() },
            updatedAt: updatedAt
        )
    }
}
