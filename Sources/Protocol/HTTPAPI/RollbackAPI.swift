#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// `POST /v1/versions/rollback`.
public struct RollbackRequest: Codable, Sendable, Hashable {
    public var userId: String
    public var projectId: String
    public var targetVersionId: String
    /// Switch the preview only; no job, the project's status stays as it is.
    public var skipWorkingDirectory: Bool?
    public var reason: String?

    public init(
        userId: String,
        projectId: String,
        targetVersionId: String,
        skipWorkingDirectory: Bool? = nil,
        reason: String? = nil
    ) {
        self.userId = userId
        self.projectId = projectId
        self.targetVersionId = targetVersionId
        self.skipWorkingDirectory = skipWorkingDirectory
        self.reason = reason
    }
}

/// The answer to an accepted rollback.
public struct RollbackAccepted: Codable, Sendable, Hashable {
    public var rollbackVersionId: String
    public var targetVersionId: String
    public var projectId: String
    public var previewUrl: String
    public var status: ProjectStatus
    /// Nil when `skipWorkingDirectory` was set.
    public var jobId: String?
    /// The project's fencing token after this rollback.
    public var epoch: Int64
    /// `POST` here to publish the new (unpublished) version.
    public var publishUrl: String

    public init(
        rollbackVersionId: String,
        targetVersionId: String,
        projectId: String,
        previewUrl: String,
        status: ProjectStatus,
        jobId: String?,
        epoch: Int64,
        publishUrl: String
    ) {
        self.rollbackVersionId = rollbackVersionId
        self.targetVersionId = targetVersionId
        self.projectId = projectId
        self.previewUrl = previewUrl
        self.status = status
        self.jobId = jobId
        self.epoch = epoch
        self.publishUrl = publishUrl
    }
}

/// `POST /v1/projects`: the build system registers a project and the host that builds it.
public struct RegisterProjectRequest: Codable, Sendable, Hashable {
    public var projectId: String
    public var userId: String
    public var host: String

    public init(projectId: String, userId: String, host: String) {
        self.projectId = projectId
        self.userId = userId
        self.host = host
    }
}

/// `POST /v1/projects/{id}/versions`: the build system registers a built version.
public struct RegisterVersionRequest: Codable, Sendable, Hashable {
    public var versionId: String
    public var artifactUrl: String?
    public var artifactSha256: String?
    public var artifactSize: Int64?
    public var previewUrl: String?
    public var deploymentId: String?
    /// Make it the project's current version and set the project `deployed` (default true).
    public var makeCurrent: Bool?

    public init(
        versionId: String,
        artifactUrl: String?,
        artifactSha256: String?,
        artifactSize: Int64?,
        previewUrl: String?,
        deploymentId: String? = nil,
        makeCurrent: Bool? = nil
    ) {
        self.versionId = versionId
        self.artifactUrl = artifactUrl
        self.artifactSha256 = artifactSha256
        self.artifactSize = artifactSize
        self.previewUrl = previewUrl
        self.deploymentId = deploymentId
        self.makeCurrent = makeCurrent
    }
}

/// `POST /v1/builds`: the build system asks whether a build may start now.
/// `POST /v1/versions/{versionId}/publish`: who publishes (the project's user).
public struct PublishRequest: Codable, Sendable, Hashable {
    public var userId: String

    public init(userId: String) {
        self.userId = userId
    }
}

public struct BuildRequest: Codable, Sendable, Hashable {
    public var projectId: String
    public var buildId: String
    /// Passed through to the build sink untouched (at most 16 KiB of JSON).
    public var payload: JSONValue?

    public init(projectId: String, buildId: String, payload: JSONValue? = nil) {
        self.projectId = projectId
        self.buildId = buildId
        self.payload = payload
    }
}

/// The answer to `POST /v1/builds`.
public struct BuildAdmission: Codable, Sendable, Hashable {
    public enum Disposition: String, Codable, Sendable {
        /// Handed to the build sink now.
        case accepted
        /// Kept until the running rollback ends; released in arrival order, or purged on failure.
        case held
    }

    public var buildId: String
    public var projectId: String
    public var disposition: Disposition
    public var message: String

    public init(
        buildId: String,
        projectId: String,
        disposition: Disposition,
        message: String
    ) {
        self.buildId = buildId
        self.projectId = projectId
        self.disposition = disposition
        self.message = message
    }
}

/// A project as the API shows it.
public struct ProjectView: Codable, Sendable, Hashable {
    public var projectId: String
    public var userId: String
    public var host: String
    public var status: ProjectStatus
    public var currentVersionId: String?
    public var previewUrl: String?
    public var epoch: Int64
    public var activeJobId: String?
    public var updatedAt: Date

    public init(
        projectId: String,
        userId: String,
        host: String,
        status: ProjectStatus,
        currentVersionId: String?,
        previewUrl: String?,
        epoch: Int64,
        activeJobId: String?,
        updatedAt: Date
    ) {
        self.projectId = projectId
        self.userId = userId
        self.host = host
        self.status = status
        self.currentVersionId = currentVersionId
        self.previewUrl = previewUrl
        self.epoch = epoch
        self.activeJobId = activeJobId
        self.updatedAt = updatedAt
    }
}

/// A version as the API shows it.
public struct VersionView: Codable, Sendable, Hashable {
    public var versionId: String
    public var projectId: String
    /// The version this one was rolled back from; nil for builds.
    public var parentVersionId: String?
    public var kind: String
    public var status: VersionStatus
    public var artifactUrl: String?
    public var artifactSha256: String?
    public var artifactSize: Int64?
    public var previewUrl: String?
    public var deploymentId: String?
    public var published: Bool
    public var publishedAt: Date?
    public var createdAt: Date

    public init(
        versionId: String,
        projectId: String,
        parentVersionId: String?,
        kind: String,
        status: VersionStatus,
        artifactUrl: String?,
        artifactSha256: String?,
        artifactSize: Int64?,
        previewUrl: String?,
        deploymentId: String?,
        published: Bool,
        publishedAt: Date?,
        createdAt: Date
    ) {
        self.versionId = versionId
        self.projectId = projectId
        self.parentVersionId = parentVersionId
        self.kind = kind
        self.status = status
        self.artifactUrl = artifactUrl
        self.artifactSha256 = artifactSha256
        self.artifactSize = artifactSize
        self.previewUrl = previewUrl
        self.deploymentId = deploymentId
        self.published = published
        self.publishedAt = publishedAt
        self.createdAt = createdAt
    }
}

/// `GET /v1/projects/{id}/versions`.
public struct VersionList: Codable, Sendable, Hashable {
    public var projectId: String
    public var versions: [VersionView]

    public init(projectId: String, versions: [VersionView]) {
        self.projectId = projectId
        self.versions = versions
    }
}

/// A job as the API shows it.
public struct JobView: Codable, Sendable, Hashable {
    public var jobId: String
    public var projectId: String
    public var versionId: String
    public var targetVersionId: String
    public var state: QueueJobState
    public var epoch: Int64
    public var attempts: Int
    public var progressPercent: Int
    public var phase: String?
    public var errorCode: String?
    public var errorMessage: String?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?

    public init(
        jobId: String,
        projectId: String,
        versionId: String,
        targetVersionId: String,
        state: QueueJobState,
        epoch: Int64,
        attempts: Int,
        progressPercent: Int,
        phase: String?,
        errorCode: String?,
        errorMessage: String?,
        createdAt: Date,
        startedAt: Date?,
        finishedAt: Date?
    ) {
        self.jobId = jobId
        self.projectId = projectId
        self.versionId = versionId
        self.targetVersionId = targetVersionId
        self.state = state
        self.epoch = epoch
        self.attempts = attempts
        self.progressPercent = progressPercent
        self.phase = phase
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }
}

/// The one error shape of the API: `{ "error": { "code", "message", "details" } }`.
public struct APIErrorBody: Codable, Sendable, Hashable {
    public struct Payload: Codable, Sendable, Hashable {
        /// Stable, machine-readable; listed in `spec/openapi.yaml`.
        public var code: String
        /// For a person: what went wrong and what to do.
        public var message: String
        public var details: [String: String]
    }

    public var error: Payload

    public init(code: String, message: String, details: [String: String] = [:]) {
        self.error = Payload(code: code, message: message, details: details)
    }
}
