/// `POST /v1/versions/rollback/preview`: what a rollback to the target would change in the
/// project's working directory. Changes nothing.
public struct RollbackPreviewRequest: Codable, Sendable, Hashable {
    public var userID: String
    public var projectID: String
    /// A version id, or `previous` (resolved as for a rollback).
    public var targetVersionID: String
    /// The most paths listed per kind (default 100, at most 1000); the counts are always whole.
    public var limit: Int?
    /// The preview of a selective rollback (`RollbackRequest.only`).
    public var only: [String]?

    public init(
        userID: String,
        projectID: String,
        targetVersionID: String,
        limit: Int? = nil,
        only: [String]? = nil
    ) {
        self.userID = userID
        self.projectID = projectID
        self.targetVersionID = targetVersionID
        self.limit = limit
        self.only = only
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case userID = "userId"
        case projectID = "projectId"
        case targetVersionID = "targetVersionId"
        case limit
        case only
    }
}

/// The answer to a preview, computed by the host's agent with a dry run.
public struct RollbackPreview: Codable, Sendable, Hashable {
    /// How many paths of each kind the rollback would touch, and how many it would leave: the
    /// agent's own counts, in the same shape.
    public typealias Counts = WorkdirSync.FileCounts

    public var projectID: String
    /// The version the rollback would restore (`previous` resolved).
    public var targetVersionID: String
    /// The project's current version, which the rollback would replace.
    public var currentVersionID: String?
    public var counts: Counts
    /// Sorted; at most `limit` of each.
    public var added: [String]
    public var changed: [String]
    public var removed: [String]
    /// True when a list was cut at `limit` (the counts are whole).
    public var truncated: Bool
    public var limit: Int
    /// Bytes of the files the rollback would write.
    public var bytesToWrite: Int64
    /// Bytes the agent would download (0 when the artifact is cached on the host).
    public var bytesToDownload: Int64
    public var artifactCached: Bool

    public init(
        projectID: String,
        targetVersionID: String,
        currentVersionID: String?,
        counts: Counts,
        added: [String],
        changed: [String],
        removed: [String],
        truncated: Bool,
        limit: Int,
        bytesToWrite: Int64,
        bytesToDownload: Int64,
        artifactCached: Bool
    ) {
        self.projectID = projectID
        self.targetVersionID = targetVersionID
        self.currentVersionID = currentVersionID
        self.counts = counts
        self.added = added
        self.changed = changed
        self.removed = removed
        self.truncated = truncated
        self.limit = limit
        self.bytesToWrite = bytesToWrite
        self.bytesToDownload = bytesToDownload
        self.artifactCached = artifactCached
    }

    enum CodingKeys: String, CodingKey {
        case projectID = "projectId"
        case targetVersionID = "targetVersionId"
        case currentVersionID = "currentVersionId"
        case counts, added, changed, removed, truncated, limit, bytesToWrite, bytesToDownload, artifactCached
    }
}

/// `POST /v1/projects/{projectId}/rollback/cancel`.
public struct RollbackCancelRequest: Codable, Sendable, Hashable {
    public var userID: String
    public var reason: String?

    public init(userID: String, reason: String? = nil) {
        self.userID = userID
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case userID = "userId"
        case reason
    }
}

/// The answer to a cancel.
public struct RollbackCancellation: Codable, Sendable, Hashable {
    /// `canceled`: done, nothing was changed. `cancelRequested`: the dispatcher will stop the
    /// job at the agent; follow the events for `rollbackCanceled` (or `rollbackCompleted` if the
    /// swap came first).
    public enum State: String, Codable, Sendable, Hashable {
        case canceled, cancelRequested
    }

    public var projectID: String
    public var jobID: String
    public var rollbackVersionID: String
    public var state: State
    /// The project after the cancel (its status before the rollback), when `canceled`.
    public var status: ProjectStatus?
    public var restoredVersionID: String?
    public var restoredPreviewURL: String?

    public init(
        projectID: String,
        jobID: String,
        rollbackVersionID: String,
        state: State,
        status: ProjectStatus?,
        restoredVersionID: String?,
        restoredPreviewURL: String?
    ) {
        self.projectID = projectID
        self.jobID = jobID
        self.rollbackVersionID = rollbackVersionID
        self.state = state
        self.status = status
        self.restoredVersionID = restoredVersionID
        self.restoredPreviewURL = restoredPreviewURL
    }

    enum CodingKeys: String, CodingKey {
        case projectID = "projectId"
        case jobID = "jobId"
        case rollbackVersionID = "rollbackVersionId"
        case state, status
        case restoredVersionID = "restoredVersionId"
        case restoredPreviewURL = "restoredPreviewUrl"
    }
}

/// The payload of the build a selective rollback requests on the build stream (build id
/// `rebuild-<rollbackVersionId>`): build the working directory as the commit left it.
public struct SelectiveRebuild: Codable, Sendable, Hashable {
    public var reason = "selectiveRollback"
    public var rollbackVersionID: String
    public var targetVersionID: String
    public var only: [String]
    public var commitID: String?

    public init(rollbackVersionID: String, targetVersionID: String, only: [String], commitID: String?) {
        self.rollbackVersionID = rollbackVersionID
        self.targetVersionID = targetVersionID
        self.only = only
        self.commitID = commitID
    }

    enum CodingKeys: String, CodingKey {
        case reason
        case rollbackVersionID = "rollbackVersionId"
        case targetVersionID = "targetVersionId"
        case only
        case commitID = "commitId"
    }
}
