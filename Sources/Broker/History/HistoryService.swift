import Foundation
import Logging
import PostgresNIO
import RollbackProtocol

/// What people read about a project's past: its history, the audit log, and which version
/// `previous` means now.
struct HistoryService: Sendable {
    let database: Database
    let logger: Logger

    /// Page sizes: at most this many entries per page.
    static let maxLimit = 200
    static let defaultLimit = 50

    /// The project's history, newest first, `limit` entries older than `cursor`.
    func history(of projectID: String, cursor: Int64?, limit: Int) async throws -> HistoryPage {
        let logger = self.logger
        return try await database.connection { connection in
            _ = try await ProjectService.require(projectID, on: connection, logger: logger)
            // One more than asked tells whether an older page exists.
            let entries = try await HistoryStore.page(
                project: projectID,
                before: cursor,
                limit: limit + 1,
                on: connection,
                logger: logger
            )
            let (page, next) = Self.paged(entries, limit: limit, id: \.id)
            return HistoryPage(projectID: projectID, entries: page, nextCursor: next)
        }
    }

    /// The audit log, newest first.
    func audit(_ filter: AuditLog.Filter, cursor: Int64?, limit: Int) async throws -> AuditPage {
        let logger = self.logger
        return try await database.connection { connection in
            let records = try await AuditLog.page(
                filter,
                before: cursor,
                limit: limit + 1,
                on: connection,
                logger: logger
            )
            let (page, next) = Self.paged(records, limit: limit, id: \.id)
            return AuditPage(entries: page, nextCursor: next)
        }
    }

    /// Splits the `limit + 1` rows a store returned into the page and the cursor of the next
    /// one: the extra row only says that an older page exists.
    private static func paged<Row>(
        _ rows: [Row],
        limit: Int,
        id: KeyPath<Row, Int64>
    ) -> (rows: [Row], next: String?) {
        let page = Array(rows.prefix(limit))
        return (page, rows.count > limit ? page.last.map { String($0[keyPath: id]) } : nil)
    }

    /// The version a rollback to `previous` would target now (the same resolution the rollback
    /// itself runs), or 422 `no_previous_version`.
    func previous(of projectID: String, skipWorkingDirectory: Bool) async throws -> VersionView {
        let logger = self.logger
        return try await database.connection { connection in
            let project = try await ProjectService.require(projectID, on: connection, logger: logger)
            let probe = RollbackRequest(
                userID: project.userID,
                projectID: projectID,
                targetVersionID: RollbackRequest.previous,
                skipWorkingDirectory: skipWorkingDirectory
            )
            let read = try await RollbackRead.load(probe, idempotency: nil, on: connection, logger: logger)
            guard let target = read.target else {
                throw RollbackService.noPreviousVersion(projectID, skip: skipWorkingDirectory)
            }
            return target.view
        }
    }
}
