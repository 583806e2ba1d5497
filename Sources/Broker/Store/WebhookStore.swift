import Foundation
import Logging
import PostgresNIO
import RollbackProtocol

/// The `webhook_subscriptions` and `webhook_deliveries` tables (migration 10): the admin API's
/// reads and writes, and the deliverer's claim, head-of-line read and outcome. Every write of
/// the deliverer is guarded by the subscription's lease owner, so a process that lost its lease
/// (paused past it, say) changes nothing.
enum WebhookStore {
    static let viewColumns = """
        s.id, s.url, s.event_types, s.project_patterns, s.enabled, s.created_at, s.created_by, s.failing_since,
        s.disabled_at, s.disabled_reason,
        (SELECT count(*) FROM webhook_deliveries d WHERE d.subscription_id = s.id AND d.state = 'pending')
            AS pending
        """

    static func view(_ row: PostgresRow, secret: String? = nil) throws -> WebhookView {
        let columns = row.makeRandomAccess()
        return WebhookView(
            webhookID: try columns["id"].decode(UUID.self).uuidString.lowercased(),
            url: try columns["url"].decode(String.self),
            eventTypes: try columns["event_types"].decode([String].self),
            projects: try columns["project_patterns"].decode([String]?.self),
            enabled: try columns["enabled"].decode(Bool.self),
            createdAt: try columns["created_at"].decode(Date.self),
            createdBy: try columns["created_by"].decode(String?.self),
            failingSince: try columns["failing_since"].decode(Date?.self),
            disabledAt: try columns["disabled_at"].decode(Date?.self),
            disabledReason: try columns["disabled_reason"].decode(String?.self),
            pendingDeliveries: Int(try columns["pending"].decode(Int64.self)),
            secret: secret
        )
    }

    // MARK: The admin API

    struct NewSubscription: Sendable {
        var id: UUID
        var url: String
        var eventTypes: [String]
        var patterns: ProjectPatterns?
        var secret: String
        var createdBy: String?
    }

    static func insert(
        _ new: NewSubscription,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> WebhookView {
        let rows = try await connection.query(
            """
            WITH s AS (
                INSERT INTO webhook_subscriptions (id, url, event_types, project_patterns, project_like, secret,
                    created_by)
                VALUES (\(new.id), \(new.url), \(new.eventTypes), \(new.patterns?.patterns),
                    \(new.patterns?.likePatterns), \(new.secret), \(new.createdBy))
                RETURNING *
            )
            SELECT s.id, s.url, s.event_types, s.project_patterns, s.enabled, s.created_at, s.created_by,
                s.failing_since, s.disabled_at, s.disabled_reason, 0::bigint AS pending
            FROM s
            """,
            logger: logger
        )
        for try await row in rows { return try view(row, secret: new.secret) }
        throw APIError.databaseUnavailable("the new subscription was not returned")
    }

    static func all(on connection: PostgresConnection, logger: Logger) async throws -> [WebhookView] {
        var views: [WebhookView] = []
        for try await row in try await connection.query(
            "SELECT \(unescaped: viewColumns) FROM webhook_subscriptions s ORDER BY s.created_at, s.id",
            logger: logger
        ) {
            views.append(try view(row))
        }
        return views
    }

    static func find(
        _ id: UUID,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> WebhookView? {
        for try await row in try await connection.query(
            "SELECT \(unescaped: viewColumns) FROM webhook_subscriptions s WHERE s.id = \(id)",
            logger: logger
        ) {
            return try view(row)
        }
        return nil
    }

    /// Deletes the subscription and its delivery log; false when there was none.
    static func delete(_ id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        for try await _ in try await connection.query(
            "DELETE FROM webhook_subscriptions WHERE id = \(id) RETURNING id",
            logger: logger
        ) {
            return true
        }
        return false
    }

    /// Enables (clearing the failure record; pending deliveries resume, due now) or disables.
    static func setEnabled(
        _ id: UUID,
        _ enabled: Bool,
        reason: String?,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Bool {
        var found = false
        for try await _ in try await connection.query(
            """
            UPDATE webhook_subscriptions SET enabled = \(enabled),
                failing_since = CASE WHEN \(enabled) THEN NULL ELSE failing_since END,
                disabled_at = CASE WHEN \(enabled) THEN NULL ELSE coalesce(disabled_at, now()) END,
                disabled_reason = CASE WHEN \(enabled) THEN NULL ELSE \(reason) END
            WHERE id = \(id) RETURNING id
            """,
            logger: logger
        ) {
            found = true
        }
        if found && enabled {
            try await connection.query(
                "UPDATE webhook_deliveries SET next_attempt_at = now() WHERE subscription_id = \(id) AND state = 'pending'",
                logger: logger
            )
        }
        return found
    }

    /// Up to `limit` deliveries older than `before` (all when nil), newest first.
    static func deliveries(
        of id: UUID,
        before: Int64?,
        limit: Int,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> [WebhookDeliveryView] {
        var views: [WebhookDeliveryView] = []
        for try await row in try await connection.query(
            """
            SELECT d.id, d.event_id, e.type, e.project_id, d.state, d.attempts, d.last_status, d.last_error,
                d.last_attempt_at, d.next_attempt_at, d.delivered_at, d.created_at
            FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
            WHERE d.subscription_id = \(id) AND d.id < \(before ?? Int64.max)
            ORDER BY d.id DESC LIMIT \(limit)
            """,
            logger: logger
        ) {
            let columns = row.makeRandomAccess()
            let state = try columns["state"].decode(String.self)
            views.append(
                WebhookDeliveryView(
                    deliveryID: try columns["id"].decode(Int64.self),
                    eventID: try columns["event_id"].decode(Int64.self),
                    eventType: try columns["type"].decode(String.self),
                    projectID: try columns["project_id"].decode(String.self),
                    state: state,
                    attempts: try columns["attempts"].decode(Int.self),
                    lastStatus: try columns["last_status"].decode(Int?.self),
                    lastError: try columns["last_error"].decode(String?.self),
                    lastAttemptAt: try columns["last_attempt_at"].decode(Date?.self),
                    nextAttemptAt: state == "pending"
                        ? try columns["next_attempt_at"].decode(Date.self) : nil,
                    deliveredAt: try columns["delivered_at"].decode(Date?.self),
                    createdAt: try columns["created_at"].decode(Date.self)
                )
            )
        }
        return views
    }

    // MARK: The deliverer

    /// A subscription this process holds the lease of.
    struct Claimed: Sendable {
        var id: UUID
        var url: String
        var secret: String
    }

    /// Claims an enabled subscription whose oldest pending delivery is due and whose lease is
    /// free or expired.
    static func claim(
        owner: String,
        leaseSeconds: Int,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Claimed? {
        let rows = try await connection.query(
            """
            WITH candidate AS (
                SELECT s.id FROM webhook_subscriptions s
                WHERE s.enabled AND (s.lease_expires_at IS NULL OR s.lease_expires_at < now())
                    AND (SELECT d.next_attempt_at FROM webhook_deliveries d
                         WHERE d.subscription_id = s.id AND d.state = 'pending' ORDER BY d.id LIMIT 1) <= now()
                LIMIT 1
                FOR UPDATE SKIP LOCKED
            )
            UPDATE webhook_subscriptions s SET lease_owner = \(owner),
                lease_expires_at = now() + make_interval(secs => \(leaseSeconds))
            FROM candidate c WHERE s.id = c.id
            RETURNING s.id, s.url, s.secret
            """,
            logger: logger
        )
        for try await row in rows {
            let columns = row.makeRandomAccess()
            return Claimed(
                id: try columns["id"].decode(UUID.self),
                url: try columns["url"].decode(String.self),
                secret: try columns["secret"].decode(String.self)
            )
        }
        return nil
    }

    /// The oldest pending delivery of a subscription, with the body to send.
    struct Head: Sendable {
        var deliveryID: Int64
        var eventID: Int64
        var eventType: String
        var attempts: Int
        /// Zero when due now.
        var dueIn: Duration
        /// The event as the stream's `data:` gives it, with its `id`.
        var body: String
    }

    static func head(of id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Head? {
        for try await row in try await connection.query(
            """
            SELECT d.id, d.event_id, e.type, d.attempts,
                greatest(0, ceil(extract(epoch FROM d.next_attempt_at - now()) * 1000))::bigint AS due_in_ms,
                (e.payload || jsonb_build_object('id', e.id, 'at',
                    to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')))::text AS body
            FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
            WHERE d.subscription_id = \(id) AND d.state = 'pending'
            ORDER BY d.id LIMIT 1
            """,
            logger: logger
        ) {
            let columns = row.makeRandomAccess()
            return Head(
                deliveryID: try columns["id"].decode(Int64.self),
                eventID: try columns["event_id"].decode(Int64.self),
                eventType: try columns["type"].decode(String.self),
                attempts: try columns["attempts"].decode(Int.self),
                dueIn: .milliseconds(try columns["due_in_ms"].decode(Int64.self)),
                body: try columns["body"].decode(String.self)
            )
        }
        return nil
    }

    /// Marks the delivery made and the subscription healthy, and renews the lease; false when
    /// the lease is no longer this process's.
    static func delivered(
        _ head: Head,
        of id: UUID,
        owner: String,
        status: Int,
        leaseSeconds: Int,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Bool {
        for try await _ in try await connection.query(
            """
            WITH held AS (
                UPDATE webhook_subscriptions SET failing_since = NULL,
                    lease_expires_at = now() + make_interval(secs => \(leaseSeconds))
                WHERE id = \(id) AND lease_owner = \(owner) RETURNING id
            )
            UPDATE webhook_deliveries d SET state = 'delivered', attempts = d.attempts + 1, last_status = \(status),
                last_error = NULL, last_attempt_at = now(), delivered_at = now()
            FROM held WHERE d.id = \(head.deliveryID) AND d.state = 'pending'
            RETURNING d.id
            """,
            logger: logger
        ) {
            return true
        }
        return false
    }

    /// What a failed attempt led to.
    enum FailureOutcome: Sendable, Equatable {
        /// Tried again after the delay.
        case retrying
        /// The subscription has failed for `giveUpSeconds`: now disabled.
        case disabled
        /// The lease was lost: nothing written.
        case leaseLost
    }

    /// Records a failed attempt: the next try after `retryIn`, the subscription failing since
    /// its first failure, and disabled (with an audit row) once that is `giveUpSeconds` ago.
    static func failed(
        _ head: Head,
        of id: UUID,
        owner: String,
        status: Int?,
        error: String,
        retryIn: Duration,
        giveUpSeconds: Int,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> FailureOutcome {
        let retryMilliseconds =
            retryIn.components.seconds * 1000 + retryIn.components.attoseconds / 1_000_000_000_000_000
        let rows = try await connection.query(
            """
            WITH held AS (
                -- One UPDATE of the subscription row: a second one in the same statement would
                -- be ignored by PostgreSQL.
                UPDATE webhook_subscriptions SET failing_since = coalesce(failing_since, now()),
                    enabled = NOT (coalesce(failing_since, now()) < now() - make_interval(secs => \(giveUpSeconds))),
                    disabled_at = CASE WHEN coalesce(failing_since, now()) < now() - make_interval(secs => \(giveUpSeconds))
                        THEN now() END,
                    disabled_reason = CASE
                        WHEN coalesce(failing_since, now()) < now() - make_interval(secs => \(giveUpSeconds))
                        THEN 'deliveries failed for ' || \(giveUpSeconds) || ' s; last error: ' || \(String(error.prefix(200)))
                    END
                WHERE id = \(id) AND lease_owner = \(owner)
                RETURNING id, NOT enabled AS give_up, url
            ), attempt AS (
                UPDATE webhook_deliveries d SET attempts = d.attempts + 1, last_status = \(status),
                    last_error = \(String(error.prefix(500))), last_attempt_at = now(),
                    next_attempt_at = now() + make_interval(secs => \(Double(retryMilliseconds) / 1000))
                FROM held WHERE d.id = \(head.deliveryID) AND d.state = 'pending'
                RETURNING d.id
            ), audit AS (
                INSERT INTO audit_log (caller, actor, action, outcome, reason, details)
                SELECT 'webhooks', \(owner), 'webhook.disabled', 'disabled', \(String(error.prefix(200))),
                    jsonb_build_object('webhookId', held.id, 'url', held.url, 'failingForSeconds', \(giveUpSeconds))
                FROM held WHERE held.give_up
            )
            SELECT held.give_up FROM held
            """,
            logger: logger
        )
        for try await row in rows {
            return try row.decode(Bool.self) ? .disabled : .retrying
        }
        return .leaseLost
    }

    /// Gives the lease back (only this process's).
    static func release(
        _ id: UUID,
        owner: String,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        try await connection.query(
            """
            UPDATE webhook_subscriptions SET lease_owner = NULL, lease_expires_at = NULL
            WHERE id = \(id) AND lease_owner = \(owner)
            """,
            logger: logger
        )
    }

    /// How soon the earliest head-of-line delivery of an enabled subscription is due, or its
    /// lease runs out when another sender holds it (nil when there is none), so the deliverer
    /// sleeps until then rather than the whole safety net, and never spins on a held lease.
    static func nextDue(on connection: PostgresConnection, logger: Logger) async throws -> Duration? {
        for try await row in try await connection.query(
            """
            SELECT greatest(0, ceil(extract(epoch FROM m.due - now()) * 1000))::bigint
            FROM (
                SELECT min(greatest(h.next_attempt_at, coalesce(s.lease_expires_at, '-infinity'))) AS due
                FROM webhook_subscriptions s
                CROSS JOIN LATERAL (
                    SELECT d.next_attempt_at FROM webhook_deliveries d
                    WHERE d.subscription_id = s.id AND d.state = 'pending' ORDER BY d.id LIMIT 1
                ) h
                WHERE s.enabled
            ) m
            -- greatest() skips NULLs: without this, "nothing pending" would read as "due now".
            WHERE m.due IS NOT NULL
            """,
            logger: logger
        ) {
            return try row.decode(Int64?.self).map { .milliseconds($0) }
        }
        return nil
    }
}
