import Foundation
import Logging
import PostgresNIO
import RollbackProtocol

/// A row of `project_versions` (read and written by `VersionStore`).
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

    var view: VersionView {
        VersionView(
            versionID: id,
            projectID: projectID,
            parentVersionID: parentVersionID,
            kind: kind,
            status: status,
            artifactURL: artifactURL,
            artifactSHA256: artifactSHA256,
            artifactSize: artifactSize,
            previewURL: previewURL,
            deploymentID: deploymentID,
            published: published,
            publishedAt: publishedAt,
            createdAt: createdAt
        )
    }
}

extension VersionRow {
    /// Decodes a row by column name; `prefix` is the alias prefix in a join (`v_`).
    init(_ row: PostgresRandomAccessRow, prefix: String = "") throws {
        id = try row[prefix + "id"].decode(String.self)
        projectID = try row[prefix + "project_id"].decode(String.self)
        parentVersionID = try row[prefix + "parent_version_id"].decode(String?.self)
        kind = try row[prefix + "kind"].decode(String.self)
        status = VersionStatus(rawValue: try row[prefix + "status"].decode(String.self)) ?? .failed
        artifactURL = try row[prefix + "artifact_url"].decode(String?.self)
        artifactSHA256 = try row[prefix + "artifact_sha256"].decode(String?.self)
        artifactSize = try row[prefix + "artifact_size"].decode(Int64?.self)
        previewURL = try row[prefix + "preview_url"].decode(String?.self)
        deploymentID = try row[prefix + "deployment_id"].decode(String?.self)
        published = try row[prefix + "published"].decode(Bool.self)
        publishedAt = try row[prefix + "published_at"].decode(Date?.self)
        createdAt = try row[prefix + "created_at"].decode(Date.self)
    }
}
