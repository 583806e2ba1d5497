import Foundation
import Logging
import PostgresNIO
import RollbackProtocol

/// One row of `audit_log`: who asked for what, and what came of it.
struct AuditEntry: Sendable {
    var caller: String?
    /// The key that signed the request (nil when no key held).
    var keyID: String?
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
            INSERT INTO audit_log (caller, key_id, actor, action, project_id, outcome, status_code, reason, details,
                request_id)
            VALUES (\(caller), \(keyID), \(actor), \(action), \(projectID), \(outcome), \(statusCode), \(reason),
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

extension AuditLog {
    /// What `GET /v1/audit` filters by; nil means any.
    struct Filter: Sendable {
        var projectID: String?
        var actor: String?
        var since: Date?
        /// SQL `LIKE` patterns a row's project must match (an operator key's projects); rows
        /// of no project are left out then.
        var projectLikePatterns: [String]?
    }

    /// Up to `limit` rows matching `filter` older than `before` (all when nil), newest first.
    static func page(
        _ filter: Filter,
        before: Int64?,
        limit: Int,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> [AuditRecord] {
        var records: [AuditRecord] = []
        for try await row in try await connection.query(
            """
            SELECT id, at, caller, key_id, actor, action, project_id, outcome, status_code, reason, details::text AS details,
                request_id
            FROM audit_log
            WHERE id < \(before ?? Int64.max)
                AND (\(filter.projectID)::text IS NULL OR project_id = \(filter.projectID))
                AND (\(filter.actor)::text IS NULL OR actor = \(filter.actor))
                AND (\(filter.since)::timestamptz IS NULL OR at >= \(filter.since))
                AND (\(filter.projectLikePatterns)::text[] IS NULL
                    OR project_id LIKE ANY (\(filter.projectLikePatterns)::text[]))
            ORDER BY id DESC LIMIT \(limit)
            """,
            logger: logger
        ) {
            let columns = row.makeRandomAccess()
            records.append(
                AuditRecord(
                    id: try columns["id"].decode(Int64.self),
                    at: try columns["at"].decode(Date.self),
                    caller: try columns["caller"].decode(String?.self),
                    actor: try columns["actor"].decode(String?.self),
                    action: try columns["action"].decode(String.self),
                    projectID: try columns["project_id"].decode(String?.self),
                    outcome: try columns["outcome"].decode(String.self),
                    statusCode: try columns["status_code"].decode(Int?.self),
                    reason: try columns["reason"].decode(String?.self),
                    details: Self.strings(try columns["details"].decode(String.self)),
                    requestID: try columns["request_id"].decode(String?.self),
                    keyID: try columns["key_id"].decode(String?.self)
                )
            )
        }
        return records
    }

    /// A `details` object as strings (every writer stores strings; anything else is rendered).
    private static func strings(_ json: String) -> [String: String] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
            return [:]
        }
        return object.mapValues { ($0 as? String) ?? "\($0)" }
    }
}
