import Foundation
import Logging
import PostgresNIO

/// One row of `audit_log`: who asked for what, and what came of it.
struct AuditEntry: Sendable {
    var caller: String?
    var actor: String?
    var action: String
    var projectID: String?
    /// `accepted`, `replayed`, `refused`.
    var outcome: String
    var statusCode: Int
    /// The error code of a refusal, or the request's `reason` text for an accepted rollback.
    var reason: String?
    var details: [String: String] = [:]
    var requestID: String

    func insert(on connection: PostgresConnection, logger: Logger) async throws {
        let detailsJSON = String(decoding: BrokerJSON.encode(details), as: UTF8.self)
        try await connection.query(
            """
            INSERT INTO audit_log (caller, actor, action, project_id, outcome, status_code, reason, details, request_id)
            VALUES (\(caller), \(actor), \(action), \(projectID), \(outcome), \(statusCode), \(reason),
                \(detailsJSON)::jsonb, \(requestID))
            """,
            logger: logger
        )
    }
}

/// Writes audit rows for refusals, on their own (the refused request wrote nothing else).
/// Best effort: when PostgreSQL itself is the problem the refusal is logged instead.
struct AuditLog: Sendable {
    let database: Database
    let logger: Logger

    func record(_ entry: AuditEntry) async {
        do {
            try await database.connection { connection in
                try await entry.insert(on: connection, logger: logger)
            }
        } catch {
            logger.warning(
                "audit row not written",
                metadata: [
                    "audit.action": "\(entry.action)", "audit.outcome": "\(entry.outcome)",
                    "audit.reason": "\(entry.reason ?? "")", "error": "\(error)",
                ]
            )
        }
    }
}
