#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// The events of a project, as `GET /v1/projects/{id}/events` streams them (Server-Sent Events:
/// `id:` the event's sequence number, `event:` the type, `data:` one of these as JSON). Every
/// payload carries `type` and `projectId`. See `spec/http-api.md`, "Events".
public enum RollbackEventType: String, Codable, Sendable, CaseIterable {
    case rollbackStarted, rollbackProgress, rollbackCompleted, rollbackFailed, rollbackCanceled,
        buildReleased,
        buildPurged
}

/// `rollbackStarted`: the request was accepted; the preview already points at the new version.
public struct RollbackStartedEvent: Codable, Sendable, Hashable {
    public var type = RollbackEventType.rollbackStarted.rawValue
    /// When the event was written (RFC 3339, whole seconds); set on the stream, not by writers.
    public var at: Date?
    public var projectID: String
    public var rollbackVersionID: String
    public var targetVersionID: String
    /// Nil with `skipWorkingDirectory` (no job runs).
    public var jobID: String?
    public var epoch: Int64
    public var previewURL: String
    public var skipWorkingDirectory: Bool

    public init(
        projectID: String,
        rollbackVersionID: String,
        targetVersionID: String,
        jobID: String?,
        epoch: Int64,
        previewURL: String,
        skipWorkingDirectory: Bool
    ) {
        self.projectID = projectID
        self.rollbackVersionID = rollbackVersionID
        self.targetVersionID = targetVersionID
        self.jobID = jobID
        self.epoch = epoch
        self.previewURL = previewURL
        self.skipWorkingDirectory = skipWorkingDirectory
    }

    enum CodingKeys: String, CodingKey {
        case type
        case at
        case projectID = "projectId"
        case rollbackVersionID = "rollbackVersionId"
        case targetVersionID = "targetVersionId"
        case jobID = "jobId"
        case epoch
        case previewURL = "previewUrl"
        case skipWorkingDirectory
    }
}

/// `rollbackProgress`: the agent's progress on the job, throttled by the dispatcher.
public struct RollbackProgressEvent: Codable, Sendable, Hashable {
    public var type = RollbackEventType.rollbackProgress.rawValue
    /// When the event was written (RFC 3339, whole seconds); set on the stream, not by writers.
    public var at: Date?
    public var projectID: String
    public var jobID: String
    public var rollbackVersionID: String
    public var percent: Int
    public var phase: String
    public var bytesDone: Int64
    public var bytesTotal: Int64

    public init(
        projectID: String,
        jobID: String,
        rollbackVersionID: String,
        percent: Int,
        phase: String,
        bytesDone: Int64,
        bytesTotal: Int64
    ) {
        self.projectID = projectID
        self.jobID = jobID
        self.rollbackVersionID = rollbackVersionID
        self.percent = percent
        self.phase = phase
        self.bytesDone = bytesDone
        self.bytesTotal = bytesTotal
    }

    enum CodingKeys: String, CodingKey {
        case type
        case at
        case projectID = "projectId"
        case jobID = "jobId"
        case rollbackVersionID = "rollbackVersionId"
        case percent
        case phase
        case bytesDone
        case bytesTotal
    }
}

/// `rollbackCompleted`: the working directory holds the target's files and git recorded it.
public struct RollbackCompletedEvent: Codable, Sendable, Hashable {
    public var type = RollbackEventType.rollbackCompleted.rawValue
    /// When the event was written (RFC 3339, whole seconds); set on the stream, not by writers.
    public var at: Date?
    public var projectID: String
    public var jobID: String
    public var rollbackVersionID: String
    public var epoch: Int64
    public var commitID: String?
    public var tag: String?
    public var durationMilliseconds: Int64
    public var releasedBuilds: Int

    public init(
        projectID: String,
        jobID: String,
        rollbackVersionID: String,
        epoch: Int64,
        commitID: String?,
        tag: String?,
        durationMilliseconds: Int64,
        releasedBuilds: Int
    ) {
        self.projectID = projectID
        self.jobID = jobID
        self.rollbackVersionID = rollbackVersionID
        self.epoch = epoch
        self.commitID = commitID
        self.tag = tag
        self.durationMilliseconds = durationMilliseconds
        self.releasedBuilds = releasedBuilds
    }

    enum CodingKeys: String, CodingKey {
        case type
        case at
        case projectID = "projectId"
        case jobID = "jobId"
        case rollbackVersionID = "rollbackVersionId"
        case epoch
        case commitID = "commitId"
        case tag
        case durationMilliseconds
        case releasedBuilds
    }
}

/// `rollbackFailed`: the sync failed; the project's preview and current version were restored.
public struct RollbackFailedEvent: Codable, Sendable, Hashable {
    public var type = RollbackEventType.rollbackFailed.rawValue
    /// When the event was written (RFC 3339, whole seconds); set on the stream, not by writers.
    public var at: Date?
    public var projectID: String
    public var jobID: String
    public var rollbackVersionID: String
    public var epoch: Int64
    /// The agent's error name (`artifact_rejected`, …) or the dispatcher's (`agent_unreachable`).
    public var errorCode: String
    public var errorMessage: String
    public var restoredVersionID: String?
    public var restoredPreviewURL: String?
    public var purgedBuilds: Int

    public init(
        projectID: String,
        jobID: String,
        rollbackVersionID: String,
        epoch: Int64,
        errorCode: String,
        errorMessage: String,
        restoredVersionID: String?,
        restoredPreviewURL: String?,
        purgedBuilds: Int
    ) {
        self.projectID = projectID
        self.jobID = jobID
        self.rollbackVersionID = rollbackVersionID
        self.epoch = epoch
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.restoredVersionID = restoredVersionID
        self.restoredPreviewURL = restoredPreviewURL
        self.purgedBuilds = purgedBuilds
    }

    enum CodingKeys: String, CodingKey {
        case type
        case at
        case projectID = "projectId"
        case jobID = "jobId"
        case rollbackVersionID = "rollbackVersionId"
        case epoch
        case errorCode
        case errorMessage
        case restoredVersionID = "restoredVersionId"
        case restoredPreviewURL = "restoredPreviewUrl"
        case purgedBuilds
    }
}

/// `buildReleased` / `buildPurged`: a build held during the rollback was handed to the build
/// system (in arrival order) or dropped with a reason.
public struct HeldBuildEvent: Codable, Sendable, Hashable {
    public var type: String
    /// When the event was written (RFC 3339, whole seconds); set on the stream, not by writers.
    public var at: Date?
    public var projectID: String
    public var buildID: String
    public var reason: String?

    public init(type: RollbackEventType, projectID: String, buildID: String, reason: String? = nil) {
        self.type = type.rawValue
        self.projectID = projectID
        self.buildID = buildID
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case type
        case at
        case projectID = "projectId"
        case buildID = "buildId"
        case reason
    }
}

/// `rollbackCanceled`: the rollback was canceled before the agent's swap; the working directory
/// was not touched, and the project's version, preview URL and status are what they were before.
public struct RollbackCanceledEvent: Codable, Sendable, Hashable {
    public var type = RollbackEventType.rollbackCanceled.rawValue
    /// When the event was written (RFC 3339, whole seconds); set on the stream, not by writers.
    public var at: Date?
    public var projectID: String
    public var jobID: String
    public var rollbackVersionID: String
    public var epoch: Int64
    /// Who asked for the cancel, and why.
    public var canceledBy: String
    public var reason: String?
    public var restoredVersionID: String?
    public var restoredPreviewURL: String?
    /// Builds held during the rollback and released by the cancel (none while frozen).
    public var releasedBuilds: Int

    public init(
        projectID: String,
        jobID: String,
        rollbackVersionID: String,
        epoch: Int64,
        canceledBy: String,
        reason: String?,
        restoredVersionID: String?,
        restoredPreviewURL: String?,
        releasedBuilds: Int
    ) {
        self.projectID = projectID
        self.jobID = jobID
        self.rollbackVersionID = rollbackVersionID
        self.epoch = epoch
        self.canceledBy = canceledBy
        self.reason = reason
        self.restoredVersionID = restoredVersionID
        self.restoredPreviewURL = restoredPreviewURL
        self.releasedBuilds = releasedBuilds
    }

    enum CodingKeys: String, CodingKey {
        case type
        case at
        case projectID = "projectId"
        case jobID = "jobId"
        case rollbackVersionID = "rollbackVersionId"
        case epoch
        case canceledBy
        case reason
        case restoredVersionID = "restoredVersionId"
        case restoredPreviewURL = "restoredPreviewUrl"
        case releasedBuilds
    }
}
