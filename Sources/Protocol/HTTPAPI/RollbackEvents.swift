/// The events of a project, as `GET /v1/projects/{id}/events` streams them (Server-Sent Events:
/// `id:` the event's sequence number, `event:` the type, `data:` one of these as JSON). Every
/// payload carries `type` and `projectId`. See `spec/http-api.md`, "Events".
public enum RollbackEventType: String, Codable, Sendable, CaseIterable {
    case rollbackStarted, rollbackProgress, rollbackCompleted, rollbackFailed, buildReleased, buildPurged
}

/// `rollbackStarted`: the request was accepted; the preview already points at the new version.
public struct RollbackStartedEvent: Codable, Sendable, Hashable {
    public var type = RollbackEventType.rollbackStarted.rawValue
    public var projectId: String
    public var rollbackVersionId: String
    public var targetVersionId: String
    /// Nil with `skipWorkingDirectory` (no job runs).
    public var jobId: String?
    public var epoch: Int64
    public var previewUrl: String
    public var skipWorkingDirectory: Bool

    public init(
        projectId: String,
        rollbackVersionId: String,
        targetVersionId: String,
        jobId: String?,
        epoch: Int64,
        previewUrl: String,
        skipWorkingDirectory: Bool
    ) {
        self.projectId = projectId
        self.rollbackVersionId = rollbackVersionId
        self.targetVersionId = targetVersionId
        self.jobId = jobId
        self.epoch = epoch
        self.previewUrl = previewUrl
        self.skipWorkingDirectory = skipWorkingDirectory
    }
}

/// `rollbackProgress`: the agent's progress on the job, throttled by the dispatcher.
public struct RollbackProgressEvent: Codable, Sendable, Hashable {
    public var type = RollbackEventType.rollbackProgress.rawValue
    public var projectId: String
    public var jobId: String
    public var rollbackVersionId: String
    public var percent: Int
    public var phase: String
    public var bytesDone: Int64
    public var bytesTotal: Int64

    public init(
        projectId: String,
        jobId: String,
        rollbackVersionId: String,
        percent: Int,
        phase: String,
        bytesDone: Int64,
        bytesTotal: Int64
    ) {
        self.projectId = projectId
        self.jobId = jobId
        self.rollbackVersionId = rollbackVersionId
        self.percent = percent
        self.phase = phase
        self.bytesDone = bytesDone
        self.bytesTotal = bytesTotal
    }
}

/// `rollbackCompleted`: the working directory holds the target's files and git recorded it.
public struct RollbackCompletedEvent: Codable, Sendable, Hashable {
    public var type = RollbackEventType.rollbackCompleted.rawValue
    public var projectId: String
    public var jobId: String
    public var rollbackVersionId: String
    public var epoch: Int64
    public var commitId: String?
    public var tag: String?
    public var durationMilliseconds: Int64
    public var releasedBuilds: Int

    public init(
        projectId: String,
        jobId: String,
        rollbackVersionId: String,
        epoch: Int64,
        commitId: String?,
        tag: String?,
        durationMilliseconds: Int64,
        releasedBuilds: Int
    ) {
        self.projectId = projectId
        self.jobId = jobId
        self.rollbackVersionId = rollbackVersionId
        self.epoch = epoch
        self.commitId = commitId
        self.tag = tag
        self.durationMilliseconds = durationMilliseconds
        self.releasedBuilds = releasedBuilds
    }
}

/// `rollbackFailed`: the sync failed; the project's preview and current version were restored.
public struct RollbackFailedEvent: Codable, Sendable, Hashable {
    public var type = RollbackEventType.rollbackFailed.rawValue
    public var projectId: String
    public var jobId: String
    public var rollbackVersionId: String
    public var epoch: Int64
    /// The agent's error name (`artifact_rejected`, …) or the dispatcher's (`agent_unreachable`).
    public var errorCode: String
    public var errorMessage: String
    public var restoredVersionId: String?
    public var restoredPreviewUrl: String?
    public var purgedBuilds: Int

    public init(
        projectId: String,
        jobId: String,
        rollbackVersionId: String,
        epoch: Int64,
        errorCode: String,
        errorMessage: String,
        restoredVersionId: String?,
        restoredPreviewUrl: String?,
        purgedBuilds: Int
    ) {
        self.projectId = projectId
        self.jobId = jobId
        self.rollbackVersionId = rollbackVersionId
        self.epoch = epoch
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.restoredVersionId = restoredVersionId
        self.restoredPreviewUrl = restoredPreviewUrl
        self.purgedBuilds = purgedBuilds
    }
}

/// `buildReleased` / `buildPurged`: a build held during the rollback was handed to the build
/// system (in arrival order) or dropped with a reason.
public struct HeldBuildEvent: Codable, Sendable, Hashable {
    public var type: String
    public var projectId: String
    public var buildId: String
    public var reason: String?

    public init(type: RollbackEventType, projectId: String, buildId: String, reason: String? = nil) {
        self.type = type.rawValue
        self.projectId = projectId
        self.buildId = buildId
        self.reason = reason
    }
}
