#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// `POST /v1/webhooks` (admin keys).
public struct CreateWebhookRequest: Codable, Sendable, Hashable {
    /// Where deliveries are POSTed: `http://` or `https://`.
    public var url: String
    /// The event types to deliver (`rollbackCompleted`, …; see `spec/http-api.md`, "Events").
    public var eventTypes: [String]
    /// Deliver only events of projects matching one of these patterns (`*` matches any run).
    public var projects: [String]?
    /// The signing secret (16–256 characters); generated and returned once when absent.
    public var secret: String?

    public init(url: String, eventTypes: [String], projects: [String]? = nil, secret: String? = nil) {
        self.url = url
        self.eventTypes = eventTypes
        self.projects = projects
        self.secret = secret
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case url, eventTypes, projects, secret
    }
}

/// One webhook subscription.
public struct WebhookView: Codable, Sendable, Hashable {
    public var webhookID: String
    public var url: String
    public var eventTypes: [String]
    public var projects: [String]?
    public var enabled: Bool
    public var createdAt: Date
    /// The actor of the admin key that created it.
    public var createdBy: String?
    /// Since when its deliveries have been failing; absent while they succeed.
    public var failingSince: Date?
    public var disabledAt: Date?
    public var disabledReason: String?
    /// Deliveries not yet made.
    public var pendingDeliveries: Int
    /// The signing secret: only in the answer to its creation.
    public var secret: String?

    public init(
        webhookID: String,
        url: String,
        eventTypes: [String],
        projects: [String]?,
        enabled: Bool,
        createdAt: Date,
        createdBy: String?,
        failingSince: Date?,
        disabledAt: Date?,
        disabledReason: String?,
        pendingDeliveries: Int,
        secret: String? = nil
    ) {
        self.webhookID = webhookID
        self.url = url
        self.eventTypes = eventTypes
        self.projects = projects
        self.enabled = enabled
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.failingSince = failingSince
        self.disabledAt = disabledAt
        self.disabledReason = disabledReason
        self.pendingDeliveries = pendingDeliveries
        self.secret = secret
    }

    enum CodingKeys: String, CodingKey {
        case webhookID = "webhookId"
        case url, eventTypes, projects, enabled, createdAt, createdBy, failingSince, disabledAt
        case disabledReason, pendingDeliveries, secret
    }
}

/// `GET /v1/webhooks`.
public struct WebhookList: Codable, Sendable, Hashable {
    public var webhooks: [WebhookView]

    public init(webhooks: [WebhookView]) { self.webhooks = webhooks }
}

/// One delivery of one event to one subscription.
public struct WebhookDeliveryView: Codable, Sendable, Hashable {
    public var deliveryID: Int64
    public var eventID: Int64
    public var eventType: String
    public var projectID: String
    /// `pending` or `delivered`.
    public var state: String
    public var attempts: Int
    /// The receiver's last HTTP status (absent when it could not be reached).
    public var lastStatus: Int?
    public var lastError: String?
    public var lastAttemptAt: Date?
    /// When a pending delivery is tried next.
    public var nextAttemptAt: Date?
    public var deliveredAt: Date?
    public var createdAt: Date

    public init(
        deliveryID: Int64,
        eventID: Int64,
        eventType: String,
        projectID: String,
        state: String,
        attempts: Int,
        lastStatus: Int?,
        lastError: String?,
        lastAttemptAt: Date?,
        nextAttemptAt: Date?,
        deliveredAt: Date?,
        createdAt: Date
    ) {
        self.deliveryID = deliveryID
        self.eventID = eventID
        self.eventType = eventType
        self.projectID = projectID
        self.state = state
        self.attempts = attempts
        self.lastStatus = lastStatus
        self.lastError = lastError
        self.lastAttemptAt = lastAttemptAt
        self.nextAttemptAt = nextAttemptAt
        self.deliveredAt = deliveredAt
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case deliveryID = "deliveryId"
        case eventID = "eventId"
        case eventType
        case projectID = "projectId"
        case state, attempts, lastStatus, lastError, lastAttemptAt, nextAttemptAt, deliveredAt, createdAt
    }
}

/// `GET /v1/webhooks/{webhookId}/deliveries`: newest first.
public struct WebhookDeliveryPage: Codable, Sendable, Hashable {
    public var webhookID: String
    public var deliveries: [WebhookDeliveryView]
    /// Pass as `cursor` for the next (older) page; absent on the last.
    public var nextCursor: String?

    public init(webhookID: String, deliveries: [WebhookDeliveryView], nextCursor: String?) {
        self.webhookID = webhookID
        self.deliveries = deliveries
        self.nextCursor = nextCursor
    }

    enum CodingKeys: String, CodingKey {
        case webhookID = "webhookId"
        case deliveries, nextCursor
    }
}
