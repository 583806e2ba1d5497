import Foundation
import Logging
import PostgresNIO
import RollbackProtocol

/// The `project_history` table: every change of a project's current version and every stage of
/// a rollback, for people to read and for `previous` to be resolved from (migration 4).
enum HistoryStore {
    /// What a writer knows about one entry; the time is the database's.
    struct Append: Sendable {
        var projectID: String
        var kind: HistoryKind
        var actor: String? = nil
        var caller: String? = nil
        var reason: String? = nil
        var fromVersionID: String?
        var toVersionID: String?
        var targetVersionID: String?
        var jobID: UUID?
        var outcome: String
        var durationMilliseconds: Int64? = nil
        var commitID: String? = nil
        var tag: String? = nil
        var errorCode: String? = nil
        /// After this entry `toVersionID` is the project's current version.
        var changesCurrent: Bool
    }

    static func append(_ entry: Append, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            INSERT INTO project_history (project_id, kind, actor, caller, reason, from_version_id, to_version_id,
                target_version_id, job_id, outcome, duration_ms, commit_id, tag, error_code, changes_current)
            VALUES (\(entry.projectID), \(entry.kind.rawValue), \(entry.actor), \(entry.caller), \(entry.reason),
                \(entry.fromVersionID), \(entry.toVersionID), \(entry.targetVersionID), \(entry.jobID),
                \(entry.outcome), \(entry.durationMilliseconds), \(entry.commitID), \(entry.tag),
                \(entry.errorCode), \(entry.changesCurrent))
            """,
            logger: logger
        )
    }

    /// A rollback's outcome entry: who asked and why (and, when `fromVersionID` is nil, the
    /// version it started from) are copied from the entry of its start.
    static func appendOutcome(
        _ entry: Append,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        try await connection.query(
            """
            INSERT INTO project_history (project_id, kind, actor, caller, key_id, reason, from_version_id,
                to_version_id, target_version_id, job_id, outcome, duration_ms, commit_id, tag, error_code,
                changes_current)
            SELECT \(entry.projectID), \(entry.kind.rawValue), s.actor, s.caller, s.key_id, s.reason,
                coalesce(\(entry.fromVersionID), s.from_version_id), \(entry.toVersionID), \(entry.targetVersionID), \(entry.jobID),
                \(entry.outcome), \(entry.durationMilliseconds), \(entry.commitID), \(entry.tag),
                \(entry.errorCode), \(entry.changesCurrent)
            FROM (SELECT 1) one
            LEFT JOIN LATERAL (
                SELECT actor, caller, key_id, reason, from_version_id FROM project_history
                WHERE project_id = \(entry.projectID) AND job_id = \(entry.jobID) AND kind = 'rollbackStarted'
                ORDER BY id LIMIT 1
            ) s ON true
            """,
            logger: logger
        )
    }

    /// Up to `limit` entries older than `before` (all when nil), newest first.
    static func page(
        project: String,
        before: Int64?,
        limit: Int,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> [HistoryEntry] {
        var entries: [HistoryEntry] = []
        for try await row in try await connection.query(
            """
            SELECT id, at, kind, actor, caller, key_id, reason, from_version_id, to_version_id, target_version_id,
                job_id, outcome, duration_ms, commit_id, tag, error_code
            FROM project_history
            WHERE project_id = \(project) AND id < \(before ?? Int64.max)
            ORDER BY id DESC LIMIT \(limit)
            """,
            logger: logger
        ) {
            let columns = row.makeRandomAccess()
            entries.append(
                HistoryEntry(
                    id: try columns["id"].decode(Int64.self),
                    at: try columns["at"].decode(Date.self),
                    kind: HistoryKind(rawValue: try columns["kind"].decode(String.self)) ?? .build,
                    actor: try columns["actor"].decode(String?.self),
                    caller: try columns["caller"].decode(String?.self),
                    reason: try columns["reason"].decode(String?.self),
                    fromVersionID: try columns["from_version_id"].decode(String?.self),
                    toVersionID: try columns["to_version_id"].decode(String?.self),
                    targetVersionID: try columns["target_version_id"].decode(String?.self),
                    jobID: try columns["job_id"].decode(UUID?.self).map { $0.uuidString.lowercased() },
                    outcome: try columns["outcome"].decode(String.self),
                    durationMilliseconds: try columns["duration_ms"].decode(Int64?.self),
                    commitID: try columns["commit_id"].decode(String?.self),
                    tag: try columns["tag"].decode(String?.self),
                    errorCode: try columns["error_code"].decode(String?.self),
                    keyID: try columns["key_id"].decode(String?.self)
                )
            )
        }
        return entries
    }

    /// The entry that made the project's current version current, if the history has one.
    static func currentSince(
        project: String,
        currentVersionID: String,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> HistoryEntry? {
        for try await id in try await connection.query(
            """
            SELECT id FROM project_history
            WHERE project_id = \(project) AND changes_current AND to_version_id = \(currentVersionID)
            ORDER BY id DESC LIMIT 1
            """,
            logger: logger
        ).decode(Int64.self) {
            return try await page(project: project, before: id + 1, limit: 1, on: connection, logger: logger)
                .first
        }
        return nil
    }

    /// The SQL expression that resolves `previous` for the project aliased `p`: walking back from
    /// the entry that made the current version current, the first version that was current
    /// before it, is not the current one, and can be a target (ready, a preview URL, and, unless
    /// `skip`, a complete artifact). Projects older than the history fall back to the newest
    /// such build registered before the current version. Used inside `RollbackRead`'s one read,
    /// whose result the write's compare-and-set on the epoch pins (every change of the current
    /// version moves the epoch).
    static func previousExpression(skip: Bool) -> String {
        let eligible = """
            c.status = 'ready' AND coalesce(c.preview_url, '') <> ''
                AND (\(skip) OR (coalesce(c.artifact_url, '') <> '' AND coalesce(c.artifact_sha256, '') <> ''
                    AND coalesce(c.artifact_size, 0) > 0))
            """
        return """
            coalesce(
                (SELECT h.to_version_id FROM project_history h JOIN project_versions c ON c.id = h.to_version_id
                 WHERE h.project_id = p.id AND h.changes_current
                    AND h.to_version_id IS DISTINCT FROM p.current_version_id
                    AND h.id < coalesce((SELECT max(m.id) FROM project_history m WHERE m.project_id = p.id
                        AND m.changes_current AND m.to_version_id = p.current_version_id), 9223372036854775807)
                    AND \(eligible)
                 ORDER BY h.id DESC LIMIT 1),
                (SELECT c.id FROM project_versions c
                 WHERE c.project_id = p.id AND c.kind = 'build' AND c.id IS DISTINCT FROM p.current_version_id
                    AND c.created_at <= coalesce((SELECT n.created_at FROM project_versions n
                        WHERE n.id = p.current_version_id), now())
                    AND NOT EXISTS (SELECT 1 FROM project_history e WHERE e.project_id = p.id)
                    AND \(eligible)
                 ORDER BY c.created_at DESC, c.id DESC LIMIT 1)
            )
            """
    }

    /// Deletes entries older than `days`; returns how many went.
    static func deleteOlder(
        than days: Int,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Int {
        var count = 0
        for try await _ in try await connection.query(
            "DELETE FROM project_history WHERE at < now() - make_interval(days => \(days)) RETURNING 1",
            logger: logger
        ).decode(Int.self) {
            count += 1
        }
        return count
    }
}
