import Logging
import PostgresNIO

/// The `project_versions` table.
enum VersionStore {
    static let columns = """
        id, project_id, parent_version_id, kind, status, artifact_url, artifact_sha256, artifact_size,
        preview_url, deployment_id, published, published_at, created_at
        """

    static func find(
        _ id: String,
        forUpdate: Bool = false,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> VersionRow? {
        let suffix = forUpdate ? " FOR UPDATE" : ""
        return try await decode(
            connection.query(
                "SELECT \(unescaped: columns) FROM project_versions WHERE id = \(id)\(unescaped: suffix)",
                logger: logger
            )
        ).first
    }

    /// The project's versions, oldest first.
    static func all(
        project: String,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> [VersionRow] {
        try await decode(
            connection.query(
                "SELECT \(unescaped: columns) FROM project_versions WHERE project_id = \(project) ORDER BY created_at, id",
                logger: logger
            )
        )
    }

    static func insert(_ version: VersionRow, on connection: PostgresConnection, logger: Logger) async throws
    {
        try await connection.query(
            """
            INSERT INTO project_versions (id, project_id, parent_version_id, kind, status, artifact_url,
                artifact_sha256, artifact_size, preview_url, deployment_id)
            VALUES (\(version.id), \(version.projectID), \(version.parentVersionID), \(version.kind),
                \(version.status.rawValue), \(version.artifactURL), \(version.artifactSHA256), \(version.artifactSize),
                \(version.previewURL), \(version.deploymentID))
            """,
            logger: logger
        )
    }

    /// Marks a version published (once; the first time is kept).
    static func publish(_ id: String, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            "UPDATE project_versions SET published = true, published_at = now() WHERE id = \(id) AND NOT published",
            logger: logger
        )
    }

    private static func decode(_ rows: PostgresRowSequence) async throws -> [VersionRow] {
        var out: [VersionRow] = []
        for try await row in rows { out.append(try VersionRow(row.makeRandomAccess())) }
        return out
    }
}
