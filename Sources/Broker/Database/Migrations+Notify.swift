extension Migrations {
    /// Wake-ups instead of polling: every committed event, queued job and requested cancel sends
    /// one `NOTIFY` on the channel `rollback.<schema>`, which each broker process listens to on one
    /// connection (`ChangeListener`). Triggers rather than code, so no write path can forget.
    /// The payload is JSON (`ChangeNotice` decodes it). An event's own payload travels as the very
    /// text a read of `events` gives; one that would not fit PostgreSQL's 8000-byte limit is
    /// announced without it, and readers fetch it.
    static let changeNotifications = Step(
        version: 8,
        name: "NOTIFY on events, queued jobs and cancels: brokers wake on change instead of polling",
        statements: [
            """
            CREATE FUNCTION rollback_notify_event() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                full_payload text := jsonb_build_object('kind', 'event', 'id', NEW.id,
                    'project', NEW.project_id, 'type', NEW.type,
                    'payload', (NEW.payload || jsonb_build_object('at',
                        to_char(NEW.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')))::text)::text;
            BEGIN
                IF octet_length(full_payload) > 7900 THEN
                    full_payload := jsonb_build_object('kind', 'event', 'id', NEW.id,
                        'project', NEW.project_id, 'type', NEW.type)::text;
                END IF;
                PERFORM pg_notify('rollback.' || TG_TABLE_SCHEMA, full_payload);
                RETURN NULL;
            END $$
            """,
            """
            CREATE TRIGGER events_notify AFTER INSERT ON events
                FOR EACH ROW EXECUTE FUNCTION rollback_notify_event()
            """,
            """
            CREATE FUNCTION rollback_notify_job() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.state = 'queued' AND (TG_OP = 'INSERT' OR OLD.state IS DISTINCT FROM 'queued'
                        OR OLD.run_after IS DISTINCT FROM NEW.run_after) THEN
                    PERFORM pg_notify('rollback.' || TG_TABLE_SCHEMA, jsonb_build_object('kind', 'job',
                        'host', NEW.host, 'job', NEW.id,
                        'dueInMilliseconds', greatest(0, ceil(extract(epoch FROM NEW.run_after - now()) * 1000))::bigint)::text);
                END IF;
                IF TG_OP = 'UPDATE' AND NEW.cancel_requested_at IS NOT NULL AND OLD.cancel_requested_at IS NULL THEN
                    PERFORM pg_notify('rollback.' || TG_TABLE_SCHEMA, jsonb_build_object('kind', 'cancel',
                        'host', NEW.host, 'job', NEW.id)::text);
                END IF;
                RETURN NULL;
            END $$
            """,
            """
            CREATE TRIGGER jobs_notify AFTER INSERT OR UPDATE ON jobs
                FOR EACH ROW EXECUTE FUNCTION rollback_notify_job()
            """,
        ]
    )
}
