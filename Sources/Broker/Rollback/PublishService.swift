import Logging
import PostgresNIO
import RollbackProtocol

/// Publishing a version: the project's owner marks a ready version published (once; the first
/// time is kept). A failed version cannot be published, nor one still being synced.
struct PublishService: Sendable {
    let database: Database
    let logger: Logger

    func publish(
        _ versionID: String,
        user: String,
        caller: ProjectService.Caller
    ) async throws -> VersionView {
        let logger = self.logger
        return try await database.transaction(stampedBy: caller.keyID) { connection in
            guard
                let version = try await VersionStore.find(
                    versionID,
                    forUpdate: true,
                    on: connection,
                    logger: logger
                )
            else {
                throw APIError(.notFound, "version_not_found", "version \(versionID) does not exist")
            }
            guard
                let project = try await ProjectStore.find(version.projectID, on: connection, logger: logger),
                project.userID == user
            else {
                throw APIError(
                    .forbidden,
                    "project_not_owned",
                    "version \(versionID) belongs to a project of another user"
                )
            }
            switch version.status {
            case .failed, .canceled:
                throw APIError(
                    .conflict,
                    "version_failed",
                    "version \(versionID) \(version.status == .failed ? "failed" : "was canceled") and cannot be published"
                )
            case .syncing:
                throw APIError(
                    .conflict,
                    "version_syncing",
                    "version \(versionID) is still being synced to the build host; publish it once its job has succeeded"
                )
            case .ready:
                break
            }
            if !version.published {
                try await VersionStore.publish(versionID, on: connection, logger: logger)
                try await AuditEntry(
                    caller: caller.name,
                    keyID: caller.keyID,
                    actor: user,
                    action: "publish",
                    projectID: project.id,
                    outcome: "accepted",
                    statusCode: 200,
                    reason: nil,
                    details: ["versionId": versionID],
                    requestID: caller.requestID
                ).insert(on: connection, logger: logger)
            }
            guard let published = try await VersionStore.find(versionID, on: connection, logger: logger)
            else {
                throw APIError(.notFound, "version_not_found", "version \(versionID) does not exist")
            }
            return published.view
        }
    }
}
