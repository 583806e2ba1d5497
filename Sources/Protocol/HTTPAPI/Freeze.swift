#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// Who froze a project, when and why.
public struct FreezeView: Codable, Sendable, Hashable {
    public var at: Date
    /// The user who froze it, or `freezeAfterRollback` when a rollback's success did.
    public var by: String?
    public var reason: String?

    public init(at: Date, by: String?, reason: String?) {
        self.at = at
        self.by = by
        self.reason = reason
    }
}

/// `POST /v1/projects/{projectId}/freeze`.
public struct FreezeRequest: Codable, Sendable, Hashable {
    public var userID: String
    public var reason: String

    public init(userID: String, reason: String) {
        self.userID = userID
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case userID = "userId"
        case reason
    }
}

/// `POST /v1/projects/{projectId}/unfreeze`.
public struct UnfreezeRequest: Codable, Sendable, Hashable {
    public var userID: String
    public var reason: String?
    /// Purge the held builds (with `reason`) instead of releasing them.
    public var discard: Bool?

    public init(userID: String, reason: String? = nil, discard: Bool? = nil) {
        self.userID = userID
        self.reason = reason
        self.discard = discard
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case userID = "userId"
        case reason, discard
    }
}

/// The answer to an unfreeze: the builds it released (in arrival order) or purged.
public struct UnfreezeResult: Codable, Sendable, Hashable {
    public var projectID: String
    public var releasedBuilds: [String]
    public var purgedBuilds: [String]
    /// True when the project was rolling back: its held builds then wait for the outcome.
    public var heldForRollback: Bool

    public init(projectID: String, releasedBuilds: [String], purgedBuilds: [String], heldForRollback: Bool) {
        self.projectID = projectID
        self.releasedBuilds = releasedBuilds
        self.purgedBuilds = purgedBuilds
        self.heldForRollback = heldForRollback
    }

    enum CodingKeys: String, CodingKey {
        case projectID = "projectId"
        case releasedBuilds, purgedBuilds, heldForRollback
    }
}

/// `POST /v1/projects/{projectId}/settings`.
public struct ProjectSettingsRequest: Codable, Sendable, Hashable {
    public var userID: String
    public var freezeAfterRollback: Bool?

    public init(userID: String, freezeAfterRollback: Bool?) {
        self.userID = userID
        self.freezeAfterRollback = freezeAfterRollback
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case userID = "userId"
        case freezeAfterRollback
    }
}
