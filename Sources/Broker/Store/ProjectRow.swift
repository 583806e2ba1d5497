import Foundation
import Logging
import PostgresNIO
import RollbackProtocol

/// A row of `projects` (read and written by `ProjectStore`).
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
    /// Set while the project is frozen: new builds are held until someone unfreezes it.
    var frozen: FreezeView?
    var freezeAfterRollback: Bool

    var view: ProjectView {
        ProjectView(
            projectID: id,
            userID: userID,
            host: host,
            status: status,
            currentVersionID: currentVersionID,
            previewURL: previewURL,
            epoch: epoch,
            activeJobID: activeJobID.map { $0.uuidString.lowercased() },
            updatedAt: updatedAt,
            frozen: frozen,
            freezeAfterRollback: freezeAfterRollback
        )
    }
}

extension ProjectRow {
    /// Decodes a row by column name; `prefix` is the alias prefix in a join (`p_`).
    init(_ row: PostgresRandomAccessRow, prefix: String = "") throws {
        id = try row[prefix + "id"].decode(String.self)
        userID = try row[prefix + "user_id"].decode(String.self)
        host = try row[prefix + "host"].decode(String.self)
        status = ProjectStatus(rawValue: try row[prefix + "status"].decode(String.self)) ?? .failed
        currentVersionID = try row[prefix + "current_version_id"].decode(String?.self)
        previewURL = try row[prefix + "preview_url"].decode(String?.self)
        epoch = try row[prefix + "epoch"].decode(Int64.self)
        activeJobID = try row[prefix + "active_job_id"].decode(UUID?.self)
        updatedAt = try row[prefix + "updated_at"].decode(Date.self)
        frozen = try row[prefix + "frozen_at"].decode(Date?.self).map {
            FreezeView(
                at: $0,
                by: try row[prefix + "frozen_by"].decode(String?.self),
                reason: try row[prefix + "frozen_reason"].decode(String?.self)
            )
        }
        freezeAfterRollback = try row[prefix + "freeze_after_rollback"].decode(Bool.self)
    }
}
