#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// `POST /v1/versions/rollback`.
public struct RollbackRequest: Codable, Sendable, Hashable {
    /// As `targetVersionId`: the version that was current before the current one and can be a
    /// target; the broker resolves it and names it in the answer. No version may have this id.
    public static let previous = "previous"

    public var userID: String
    public var projectID: String
    public var targetVersionID: String
    /// Switch the preview only; no job, the project's status stays as it is.
    public var skipWorkingDirectory: Bool?
    public var reason: String?
    /// A selective rollback: only these paths or glob patterns (`PathSelection`) are restored
    /// from the target; the rest of the working directory stays. The preview URL does not switch
    /// (no built artifact of that mix exists); a build of the result is requested instead.
    public var only: [String]?

    public init(
        userID: String,
        projectID: String,
        targetVersionID: String,
        skipWorkingDirectory: Bool? = nil,
        reason: String? = nil,
        only: [String]? = nil
    ) {
        self.userID = userID
        self.projectID = projectID
        self.targetVersionID = targetVersionID
        self.skipWorkingDirectory = skipWorkingDirectory
        self.reason = reason
        self.only = only
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case userID = "userId"
        case projectID = "projectId"
        case targetVersionID = "targetVersionId"
        case skipWorkingDirectory
        case reason
        case only
    }
}

/// The answer to an accepted rollback.
public struct RollbackAccepted: Codable, Sendable, Hashable {
    public var rollbackVersionID: String
    public var targetVersionID: String
    public var projectID: String
    public var previewURL: String
    public var status: ProjectStatus
    /// Nil when `skipWorkingDirectory` was set.
    public var jobID: String?
    /// The project's fencing token after this rollback.
    public var epoch: Int64
    /// `POST` here to publish the new (unpublished) version.
    public var publishURL: String

    public init(
        rollbackVersionID: String,
        targetVersionID: String,
        projectID: String,
        previewURL: String,
        status: ProjectStatus,
        jobID: String?,
        epoch: Int64,
        publishURL: String
    ) {
        self.rollbackVersionID = rollbackVersionID
        self.targetVersionID = targetVersionID
        self.projectID = projectID
        self.previewURL = previewURL
        self.status = status
        self.jobID = jobID
        self.epoch = epoch
        self.publishURL = publishURL
    }

    enum CodingKeys: String, CodingKey {
        case rollbackVersionID = "rollbackVersionId"
        case targetVersionID = "targetVersionId"
        case projectID = "projectId"
        case previewURL = "previewUrl"
        case status
        case jobID = "jobId"
        case epoch
        case publishURL = "publishUrl"
    }
}

/// `POST /v1/projects`: the build system registers a project and the host that builds it.
public struct RegisterProjectRequest: Codable, Sendable, Hashable {
    public var projectID: String
    public var userID: String
    public var host: String

    public init(projectID: String, userID: String, host: String) {
        self.projectID = projectID
        self.userID = userID
        self.host = host
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case projectID = "projectId"
        case userID = "userId"
        case host
    }
}

/// `POST /v1/projects/{id}/versions`: the build system registers a built version.
public struct RegisterVersionRequest: Codable, Sendable, Hashable {
    public var versionID: String
    public var artifactURL: String?
    public var artifactSHA256: String?
    public var artifactSize: Int64?
    public var previewURL: String?
    public var deploymentID: String?
    /// Make it the project's current version and set the project `deployed` (default true).
    public var makeCurrent: Bool?

    public init(
        versionID: String,
        artifactURL: String?,
        artifactSHA256: String?,
        artifactSize: Int64?,
        previewURL: String?,
        deploymentID: String? = nil,
        makeCurrent: Bool? = nil
    ) {
        self.versionID = versionID
        self.artifactURL = artifactURL
        self.artifactSHA256 = artifactSHA256
        self.artifactSize = artifactSize
        self.previewURL = previewURL
        self.deploymentID = deploymentID
        self.makeCurrent = makeCurrent
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case versionID = "versionId"
        case artifactURL = "artifactUrl"
        case artifactSHA256 = "artifactSha256"
        case artifactSize
        case previewURL = "previewUrl"
        case deploymentID = "deploymentId"
        case makeCurrent
    }
}

/// `POST /v1/builds`: the build system asks whether a build may start now.
/// `POST /v1/versions/{versionId}/publish`: who publishes (the project's user).
public struct PublishRequest: Codable, Sendable, Hashable {
    public var userID: String

    public init(userID: String) {
        self.userID = userID
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case userID = "userId"
    }
}

public struct BuildRequest: Codable, Sendable, Hashable {
    public var projectID: String
    public var buildID: String
    /// Passed through to the build sink untouched (at most 16 KiB of JSON).
    public var payload: JSONValue?

    public init(projectID: String, buildID: String, payload: JSONValue? = nil) {
        self.projectID = projectID
        self.buildID = buildID
        self.payload = payload
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case projectID = "projectId"
        case buildID = "buildId"
        case payload
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

    public var buildID: String
    public var projectID: String
    public var disposition: Disposition
    public var message: String

    public init(
        buildID: String,
        projectID: String,
        disposition: Disposition,
        message: String
    ) {
        self.buildID = buildID
        self.projectID = projectID
        self.disposition = disposition
        self.message = message
    }

    enum CodingKeys: String, CodingKey {
        case buildID = "buildId"
        case projectID = "projectId"
        case disposition
        case message
    }
}

/// A project as the API shows it.
public struct ProjectView: Codable, Sendable, Hashable {
    public var projectID: String
    public var userID: String
    public var host: String
    public var status: ProjectStatus
    public var currentVersionID: String?
    public var previewURL: String?
    public var epoch: Int64
    public var activeJobID: String?
    public var updatedAt: Date
    /// The current version and how it became current (`GET /v1/projects/{id}` only).
    public var current: CurrentVersion?
    /// Set while the project is frozen: new builds are held until it is unfrozen.
    public var frozen: FreezeView?
    /// Freeze the project when a rollback succeeds, so the builds held during it stay held.
    public var freezeAfterRollback: Bool

    public init(
        projectID: String,
        userID: String,
        host: String,
        status: ProjectStatus,
        currentVersionID: String?,
        previewURL: String?,
        epoch: Int64,
        activeJobID: String?,
        updatedAt: Date,
        current: CurrentVersion? = nil,
        frozen: FreezeView? = nil,
        freezeAfterRollback: Bool = false
    ) {
        self.projectID = projectID
        self.userID = userID
        self.host = host
        self.status = status
        self.currentVersionID = currentVersionID
        self.previewURL = previewURL
        self.epoch = epoch
        self.activeJobID = activeJobID
        self.updatedAt = updatedAt
        self.current = current
        self.frozen = frozen
        self.freezeAfterRollback = freezeAfterRollback
    }

    enum CodingKeys: String, CodingKey {
        case projectID = "projectId"
        case userID = "userId"
        case host
        case status
        case currentVersionID = "currentVersionId"
        case previewURL = "previewUrl"
        case epoch
        case activeJobID = "activeJobId"
        case updatedAt
        case current
        case frozen
        case freezeAfterRollback
    }
}

/// A project's current version, with when, how, by whom and why it became current.
public struct CurrentVersion: Codable, Sendable, Hashable {
    public var versionID: String
    /// `build` or `rollback`.
    public var kind: String
    /// For a rollback version: the version whose files it restored.
    public var parentVersionID: String?
    public var deploymentID: String?
    /// When it became current (absent for projects older than the history).
    public var since: Date?
    /// The history entry's kind that made it current: `build`, `rollbackStarted`,
    /// `previewOnly`, `rollbackFailed` or `rollbackCanceled` (the latter two restore it).
    public var via: HistoryKind?
    public var actor: String?
    public var reason: String?

    public init(
        versionID: String,
        kind: String,
        parentVersionID: String?,
        deploymentID: String?,
        since: Date?,
        via: HistoryKind?,
        actor: String?,
        reason: String?
    ) {
        self.versionID = versionID
        self.kind = kind
        self.parentVersionID = parentVersionID
        self.deploymentID = deploymentID
        self.since = since
        self.via = via
        self.actor = actor
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case versionID = "versionId"
        case kind
        case parentVersionID = "parentVersionId"
        case deploymentID = "deploymentId"
        case since, via, actor, reason
    }
}

/// A version as the API shows it.
public struct VersionView: Codable, Sendable, Hashable {
    public var versionID: String
    public var projectID: String
    /// The version this one was rolled back from; nil for builds.
    public var parentVersionID: String?
    public var kind: String
    public var status: VersionStatus
    public var artifactURL: String?
    public var artifactSHA256: String?
    public var artifactSize: Int64?
    public var previewURL: String?
    public var deploymentID: String?
    public var published: Bool
    public var publishedAt: Date?
    public var createdAt: Date

    public init(
        versionID: String,
        projectID: String,
        parentVersionID: String?,
        kind: String,
        status: VersionStatus,
        artifactURL: String?,
        artifactSHA256: String?,
        artifactSize: Int64?,
        previewURL: String?,
        deploymentID: String?,
        published: Bool,
        publishedAt: Date?,
        createdAt: Date
    ) {
        self.versionID = versionID
        self.projectID = projectID
        self.parentVersionID = parentVersionID
        self.kind = kind
        self.status = status
        self.artifactURL = artifactURL
        self.artifactSHA256 = artifactSHA256
        self.artifactSize = artifactSize
        self.previewURL = previewURL
        self.deploymentID = deploymentID
        self.published = published
        self.publishedAt = publishedAt
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case versionID = "versionId"
        case projectID = "projectId"
        case parentVersionID = "parentVersionId"
        case kind
        case status
        case artifactURL = "artifactUrl"
        case artifactSHA256 = "artifactSha256"
        case artifactSize
        case previewURL = "previewUrl"
        case deploymentID = "deploymentId"
        case published
        case publishedAt
        case createdAt
    }
}

/// `GET /v1/projects`: in id order.
public struct ProjectList: Codable, Sendable, Hashable {
    public var projects: [ProjectView]
    /// Pass as `cursor` for the next page; absent on the last.
    public var nextCursor: String?

    public init(projects: [ProjectView], nextCursor: String?) {
        self.projects = projects
        self.nextCursor = nextCursor
    }
}

/// `GET /v1/projects/{id}/versions`.
public struct VersionList: Codable, Sendable, Hashable {
    public var projectID: String
    public var versions: [VersionView]

    public init(projectID: String, versions: [VersionView]) {
        self.projectID = projectID
        self.versions = versions
    }

    enum CodingKeys: String, CodingKey {
        case projectID = "projectId"
        case versions
    }
}

/// A job as the API shows it.
public struct JobView: Codable, Sendable, Hashable {
    public var jobID: String
    public var projectID: String
    public var versionID: String
    public var targetVersionID: String
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
        jobID: String,
        projectID: String,
        versionID: String,
        targetVersionID: String,
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
        self.jobID = jobID
        self.projectID = projectID
        self.versionID = versionID
        self.targetVersionID = targetVersionID
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

    enum CodingKeys: String, CodingKey {
        case jobID = "jobId"
        case projectID = "projectId"
        case versionID = "versionId"
        case targetVersionID = "targetVersionId"
        case state
        case epoch
        case attempts
        case progressPercent
        case phase
        case errorCode
        case errorMessage
        case createdAt
        case startedAt
        case finishedAt
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
