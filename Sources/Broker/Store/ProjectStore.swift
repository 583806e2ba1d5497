import Logging
import PostgresNIO

/// The `projects` table: the only place that reads or writes it outside the two aggregate
/// writes (`RollbackRecord`, `OutcomeRecorder`).
enum ProjectStore {
    static let columns = """
        id, user_id, host, status, current_version_id, preview_url, epoch, active_job_id, updated_at,
        frozen_at, frozen_by, frozen_reason, freeze_after_rollback
        """

    /// Reads one project; `lockForShare` adds `FOR SHARE` (a rollback's update then waits for
    /// us), `lockForUpdate` `FOR UPDATE`.
    static func find(
        _ id: String,
        lockForShare: Bool = false,
        lockForUpdate: Bool = false,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> ProjectRow? {
        let suffix = lockForUpdate ? " FOR UPDATE" : lockForShare ? " FOR SHARE" : ""
        let rows = try await connection.query(
            "SELECT \(unescaped: columns) FROM projects WHERE id = \(id)\(unescaped: suffix)",
            logger: logger
        )
        for try await row in rows { return try ProjectRow(row.makeRandomAccess()) }
        return nil
    }

    /// Up to `limit` projects with ids after `after` (all when nil), optionally of one user, in
    /// id order.
    static func list(
        user: String?,
        matching likePatterns: [String]?,
        after: String?,
        limit: Int,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> [ProjectRow] {
        var projects: [ProjectRow] = []
        for try await row in try await connection.query(
            """
            SELECT \(unescaped: columns) FROM projects
            WHERE (\(user)::text IS NULL OR user_id = \(user)) AND (\(after)::text IS NULL OR id > \(after))
                AND (\(likePatterns)::text[] IS NULL OR id LIKE ANY (\(likePatterns)::text[]))
            ORDER BY id LIMIT \(limit)
            """,
            logger: logger
        ) {
            projects.append(try ProjectRow(row.makeRandomAccess()))
        }
        return projects
    }

    /// Inserts a project unless one with the id exists; true when it inserted.
    static func insertIfAbsent(
        id: String,
        userID: String,
        host: String,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Bool {
        for try await _ in try await connection.query(
            """
            INSERT INTO projects (id, user_id, host) VALUES (\(id), \(userID), \(host))
            ON CONFLICT (id) DO NOTHING RETURNING id
            """,
            logger: logger
        ).decode(String.self) {
            return true
        }
        return false
    }

    /// Makes `versionID` the project's current version and the project `deployed`, moving its
    /// epoch (a newer build fences out older work).
    static func makeCurrent(
        projectID: String,
        versionID: String,
        previewURL: String?,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        try await connection.query(
            """
            UPDATE projects SET current_version_id = \(versionID), preview_url = \(previewURL),
                status = 'deployed', epoch = epoch + 1, updated_at = now()
            WHERE id = \(projectID)
            """,
            logger: logger
        )
    }

    /// Freezes the project (`by`, `reason`) or, with nil, unfreezes it.
    static func setFrozen(
        _ projectID: String,
        by: String?,
        reason: String?,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        try await connection.query(
            """
            UPDATE projects SET frozen_at = CASE WHEN \(by)::text IS NULL THEN NULL ELSE now() END,
                frozen_by = \(by), frozen_reason = \(reason), updated_at = now()
            WHERE id = \(projectID)
            """,
            logger: logger
        )
    }

    static func setFreezeAfterRollback(
        _ projectID: String,
        _ value: Bool,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        try await connection.query(
            "UPDATE projects SET freeze_after_rollback = \(value), updated_at = now() WHERE id = \(projectID)",
            logger: logger
        )
    }

    /// The project's and its alias's columns for a join, each named `<alias>_<column>`, so rows
    /// are decoded by name (`ProjectRow(row, prefix: "p_")`).
    static func aliasedColumns(_ alias: String, _ list: String = columns) -> String {
        list.split(separator: ",").map {
            let column = $0.trimmingCharacters(in: .whitespacesAndNewlines)
            return "\(alias).\(column) AS \(alias)_\(column)"
        }.joined(separator: ", ")
    }
}
