import Foundation
import Logging
import PostgresNIO
import RollbackProtocol

/// A row of `project_versions`.
struct VersionRow: Sendable {
    var id: String
    var projectID: String
    var parentVersionID: String?
    var kind: String
    var status: VersionStatus
    var artifactURL: String?
    var artifactSHA256: String?
    var artifactSize: Int64?
    var previewURL: String?
    var deploymentID: String?
    var published: Bool
    var publishedAt: Date?
    var createdAt: Date

    static let columns = """
        id, project_id, parent_version_id, kind, status, artifact_url, artifact_sha256, artifact_size,
        preview_url, deployment_id, published, published_at, created_at
        """

    static func find(
        _ id: String,
        forUpdate: Bool = false,
        on connection: PostgresConnection,
        logger: Logger
    )
        async throws -> VersionRow?
    {
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

    func insert(on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            INSERT INTO project_versions (id, project_id, parent_version_id, kind, status, artifact_url,
                artifact_sha256, artifact_size, preview_url, deployment_id)
            VALUES (\(id), \(projectID), \(parentVersionID), \(kind), \(status.rawValue), \(artifactURL),
                \(artifactSHA256), \(artifactSize), \(previewURL), \(deploymentID))
            """,
            logger: logger
        )
    }

    private static func decode(_ rows: PostgresRowSequence) async throws -> [VersionRow] {
        var out: [VersionRow] = []
        for try await row in rows {
            let (
                id, project, parent, kind, status, url, sha, size, preview, deployment, published,
                publishedAt, created
            ) =
                try row.decode(
                    (
                        String, String, String?, String, String, String?, String?, Int64?, String?, String?,
                        Bool,
                        Date?, Date
                    ).self
                )
            out.append(
                VersionRow(
                    id: id,
                    projectID: project,
                    parentVersionID: parent,
                    kind: kind,
                    status: VersionStatus(rawValue: status) ?? .failed,
                    artifactURL: url,
                    artifactSHA256: sha,
                    artifactSize: size,
                    previewURL: preview,
                    deploymentID: deployment,
                    published: published,
                    publishedAt: publishedAt,
                    createdAt: created
                )
            )
        }
        return out
    }

    var view: VersionView {
        VersionView(
            versionId: id,
            projectId: projectID,
            parentVersionId: parentVersionID,
            kind: kind,
            status: status,
            artifactUrl: artifactURL,
            artifactSha256: artifactSHA256,
            artifactSize: artifactSize,
            previewUrl: previewURL,
            deploymentId: deploymentID,
            published: published,
            publishedAt: publishedAt,
            createdAt: createdAt
        )
    }
}
