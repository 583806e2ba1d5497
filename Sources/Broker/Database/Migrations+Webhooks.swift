extension Migrations {
    /// Webhooks with an outbox. A trigger on `events` writes one delivery row per matching
    /// enabled subscription in the event's own transaction, so a committed event is never
    /// without its deliveries and a rolled-back one never has any. A trigger on each delivery
    /// notifies the brokers (PostgreSQL folds the identical notices of one transaction into
    /// one; a statement trigger would fire for every event, matched or not), which
    /// wake their `WebhookDeliverer` instead of polling.
    ///
    /// Deliveries of one subscription go out in event order: only its oldest pending delivery
    /// is ever sent, by the one broker holding the subscription's lease. A subscription failing
    /// for `webhookGiveUpSeconds` (24 h) is disabled; its pending deliveries wait, in order, for
    /// it to be enabled again. Deleting an event (the janitor, after 7 days) deletes its
    /// delivery log with it.
    static let webhooks = Step(
        version: 10,
        name: "webhook subscriptions and their delivery outbox",
        statements: [
            """
            CREATE TABLE webhook_subscriptions (
                id uuid PRIMARY KEY,
                url text NOT NULL,
                event_types text[] NOT NULL,
                project_patterns text[],
                project_like text[],
                secret text NOT NULL,
                enabled boolean NOT NULL DEFAULT true,
                created_at timestamptz NOT NULL DEFAULT now(),
                created_by text,
                failing_since timestamptz,
                disabled_at timestamptz,
                disabled_reason text,
                lease_owner text,
                lease_expires_at timestamptz
            )
            """,
            """
            CREATE TABLE webhook_deliveries (
                id bigserial PRIMARY KEY,
                subscription_id uuid NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
                event_id bigint NOT NULL REFERENCES events (id) ON DELETE CASCADE,
                state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered')),
                attempts int NOT NULL DEFAULT 0,
                next_attempt_at timestamptz NOT NULL DEFAULT now(),
                last_attempt_at timestamptz,
                last_status int,
                last_error text,
                delivered_at timestamptz,
                created_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            """
            CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (subscription_id, id)
                WHERE state = 'pending'
            """,
            "CREATE INDEX webhook_deliveries_by_subscription ON webhook_deliveries (subscription_id, id)",
            "CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (event_id)",
            """
            CREATE FUNCTION rollback_webhook_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO webhook_deliveries (subscription_id, event_id)
                SELECT s.id, NEW.id FROM webhook_subscriptions s
                WHERE s.enabled AND NEW.type = ANY (s.event_types)
                    AND (s.project_like IS NULL OR NEW.project_id LIKE ANY (s.project_like));
                RETURN NULL;
            END $$
            """,
            """
            CREATE TRIGGER events_webhook_outbox AFTER INSERT ON events
                FOR EACH ROW EXECUTE FUNCTION rollback_webhook_outbox()
            """,
            """
            CREATE FUNCTION rollback_notify_webhook() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_notify('rollback.' || TG_TABLE_SCHEMA, '{"kind":"webhook"}');
                RETURN NULL;
            END $$
            """,
            """
            CREATE TRIGGER webhook_deliveries_notify AFTER INSERT ON webhook_deliveries
                FOR EACH ROW EXECUTE FUNCTION rollback_notify_webhook()
            """,
            // Enabling a subscription makes its waiting deliveries due: wake the deliverers,
            // which sleep while nothing is pending.
            """
            CREATE TRIGGER webhook_subscriptions_enabled_notify AFTER UPDATE OF enabled ON webhook_subscriptions
                FOR EACH ROW WHEN (NEW.enabled AND NOT OLD.enabled) EXECUTE FUNCTION rollback_notify_webhook()
            """,
        ]
    )
}
