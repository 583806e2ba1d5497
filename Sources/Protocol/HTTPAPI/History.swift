#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// What a history entry records (`spec/http-api.md`, "History").
public enum HistoryKind: String, Codable, Sendable, CaseIterable {
    /// A registered build was made the current version.
    case build
    /// A rollback was accepted: the preview switched, a job syncs the working directory.
    case rollbackStarted
    /// The working directory holds the target; commit and tag recorded.
    case rollbackCompleted
    /// The sync failed; the earlier version and preview were restored.
    case rollbackFailed
    /// The rollback was canceled before the swap; the earlier version and preview were restored.
    case rollbackCanceled
    /// `skipWorkingDirectory`: the preview switched, no job ran.
    case previewOnly
    case freeze
    case unfreeze
}

/// One change of a project's current version, or one stage of a rollback.
public struct HistoryEntry: Codable, Sendable, Hashable {
    /// Increasing with time within the project; the cursor of the next page.
    public var id: Int64
    public var at: Date
    public var kind: HistoryKind
    /// The user the change was made for (the web tier's `userId`, an operator key's actor, or
    /// for the dispatcher's outcome the rollback's requester).
    public var actor: String?
    /// Who signed the request: the key's `caller` (service keys), else its key id.
    public var caller: String?
    /// The key that signed the request (absent for entries written before keys were recorded).
    public var keyID: String?
    public var reason: String?
    /// The current version before the change.
    public var fromVersionID: String?
    /// The current version after the change (for a rollback, its new rollback version).
    public var toVersionID: String?
    /// For a rollback: the version whose files and preview it restores.
    public var targetVersionID: String?
    public var jobID: String?
    /// `accepted`, `succeeded`, `failed`, `canceled`.
    public var outcome: String
    /// From the request to this outcome (rollback outcomes only).
    public var durationMilliseconds: Int64?
    public var commitID: String?
    public var tag: String?
    public var errorCode: String?

    public init(
        id: Int64,
        at: Date,
        kind: HistoryKind,
        actor: String?,
        caller: String?,
        reason: String?,
        fromVersionID: String?,
        toVersionID: String?,
        targetVersionID: String?,
        jobID: String?,
        outcome: String,
        durationMilliseconds: Int64?,
        commitID: String?,
        tag: String?,
        errorCode: String?,
        keyID: String? = nil
    ) {
        self.id = id
        self.at = at
        self.kind = kind
        self.actor = actor
        self.caller = caller
        self.keyID = keyID
        self.reason = reason
        self.fromVersionID = fromVersionID
        self.toVersionID = toVersionID
        self.targetVersionID = targetVersionID
        self.jobID = jobID
        self.outcome = outcome
        self.durationMilliseconds = durationMilliseconds
        self.commitID = commitID
        self.tag = tag
        self.errorCode = errorCode
    }

    enum CodingKeys: String, CodingKey {
        case id, at, kind, actor, caller, reason
        case keyID = "keyId"
        case fromVersionID = "fromVersionId"
        case toVersionID = "toVersionId"
        case targetVersionID = "targetVersionId"
        case jobID = "jobId"
        case outcome, durationMilliseconds
        case commitID = "commitId"
        case tag, errorCode
    }
}

/// `GET /v1/projects/{projectId}/history`: newest first.
public struct HistoryPage: Codable, Sendable, Hashable {
    public var projectID: String
    public var entries: [HistoryEntry]
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    public var nextCursor: String?

    public init(projectID: String, entries: [HistoryEntry], nextCursor: String?) {
        self.projectID = projectID
        self.entries = entries
        self.nextCursor = nextCursor
    }

    enum CodingKeys: String, CodingKey {
        case projectID = "projectId"
        case entries, nextCursor
    }
}

/// One row of the audit log as `GET /v1/audit` shows it.
public struct AuditRecord: Codable, Sendable, Hashable {
    public var id: Int64
    public var at: Date
    public var caller: String?
    /// The key that signed the request, when one did.
    public var keyID: String?
    public var actor: String?
    public var action: String
    public var projectID: String?
    /// `accepted`, `replayed`, `refused`, `succeeded`, `failed`, …
    public var outcome: String
    public var statusCode: Int?
    public var reason: String?
    public var details: [String: String]
    public var requestID: String?

    public init(
        id: Int64,
        at: Date,
        caller: String?,
        actor: String?,
        action: String,
        projectID: String?,
        outcome: String,
        statusCode: Int?,
        reason: String?,
        details: [String: String],
        requestID: String?,
        keyID: String? = nil
    ) {
        self.id = id
        self.at = at
        self.caller = caller
        self.keyID = keyID
        self.actor = actor
        self.action = action
        self.projectID = projectID
        self.outcome = outcome
        self.statusCode = statusCode
        self.reason = reason
        self.details = details
        self.requestID = requestID
    }

    enum CodingKeys: String, CodingKey {
        case id, at, caller, actor, action
        case keyID = "keyId"
        case projectID = "projectId"
        case outcome, statusCode, reason, details
        case requestID = "requestId"
    }
}

/// `GET /v1/audit`: newest first.
public struct AuditPage: Codable, Sendable, Hashable {
    public var entries: [AuditRecord]
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    public var nextCursor: String?

    public init(entries: [AuditRecord], nextCursor: String?) {
        self.entries = entries
        self.nextCursor = nextCursor
    }
}
