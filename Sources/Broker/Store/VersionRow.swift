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
        for try await row in rows { out.append(try VersionRow(row.makeRandomAccess())) }
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

extension VersionRow {
    /// Reads the version's columns (in `columns` order) starting at `offset`.
    init(_ row: PostgresRandomAccessRow, at offset: Int = 0) throws {
        id = try row[offset].decode(String.self)
        projectID = try row[offset + 1].decode(String.self)
        parentVersionID = try row[offset + 2].decode(String?.self)
        kind = try row[offset + 3].decode(String.self)
        status = VersionStatus(rawValue: try row[offset + 4].decode(String.self)) ?? .failed
        artifactURL = try row[offset + 5].decode(String?.self)
        artifactSHA256 = try row[offset + 6].decode(String?.self)
        artifactSize = try row[offset + 7].decode(Int64?.self)
        previewURL = try row[offset + 8].decode(String?.self)
        deploymentID = try row[offset + 9].decode(String?.self)
        published = try row[offset + 10].decode(Bool.self)
        publishedAt = try row[offset + 11].decode(Date?.self)
        createdAt = try row[offset + 12].decode(Date.self)
    }
}
