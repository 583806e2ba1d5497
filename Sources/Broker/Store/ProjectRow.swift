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
        for try await row in rows { return try ProjectRow(row.makeRandomAccess()) }
        return nil
    }

    /// `columns`, qualified with a table alias (`p.id, p.user_id, …`).
    static func qualifiedColumns(_ alias: String, _ list: String) -> String {
        list.split(separator: ",").map { "\(alias).\($0.trimmingCharacters(in: .whitespacesAndNewlines))" }
            .joined(separator: ", ")
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

extension ProjectRow {
    /// Reads the project's columns (in `columns` order) starting at `offset`.
    init(_ row: PostgresRandomAccessRow, at offset: Int = 0) throws {
        id = try row[offset].decode(String.self)
        userID = try row[offset + 1].decode(String.self)
        host = try row[offset + 2].decode(String.self)
        status = ProjectStatus(rawValue: try row[offset + 3].decode(String.self)) ?? .failed
        currentVersionID = try row[offset + 4].decode(String?.self)
        previewURL = try row[offset + 5].decode(String?.self)
        epoch = try row[offset + 6].decode(Int64.self)
        activeJobID = try row[offset + 7].decode(UUID?.self)
        updatedAt = try row[offset + 8].decode(Date.self)
    }
}
