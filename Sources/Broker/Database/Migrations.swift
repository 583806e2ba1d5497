/// The schema, as numbered steps. A step is never edited once released: add a new one.
/// `spec/state-machine.md` explains the statuses these tables hold.
enum Migrations {
    struct Step: Sendable {
        let version: Int
        let name: String
        let statements: [String]
    }

    static let all: [Step] = [
        initialSchema, rollbackRecordFunction, heldBuildDelivery, projectHistory, projectFreeze,
        rollbackCancel, selectiveRollback, changeNotifications, keyIdentity, webhooks,
    ]

    static let initialSchema = Step(
        version: 1,
        name: "initial schema: projects, versions, jobs, idempotency, held builds, audit, events, agents",
        statements: [
            """
            CREATE TABLE projects (
                id text PRIMARY KEY,
                user_id text NOT NULL,
                host text NOT NULL,
                status text NOT NULL DEFAULT 'queued' CHECK (status IN
                    ('queued', 'building', 'deployed', 'failed', 'canceled', 'superseded',
                     'rollingBack', 'rollbackFailed')),
                current_version_id text,
                preview_url text,
                epoch bigint NOT NULL DEFAULT 0,
                active_job_id uuid,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            """
            CREATE TABLE project_versions (
                id text PRIMARY KEY,
                project_id text NOT NULL REFERENCES projects (id),
                parent_version_id text REFERENCES project_versions (id),
                kind text NOT NULL CHECK (kind IN ('build', 'rollback')),
                status text NOT NULL CHECK (status IN ('ready', 'syncing', 'failed')),
                artifact_url text,
                artifact_sha256 text,
                artifact_size bigint,
                preview_url text,
                deployment_id text,
                published boolean NOT NULL DEFAULT false,
                published_at timestamptz,
                created_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX project_versions_by_project ON project_versions (project_id, created_at)",
            """
            ALTER TABLE projects ADD CONSTRAINT projects_current_version_fk
                FOREIGN KEY (current_version_id) REFERENCES project_versions (id)
            """,
            """
            CREATE TABLE jobs (
                id uuid PRIMARY KEY,
                project_id text NOT NULL REFERENCES projects (id),
                version_id text NOT NULL REFERENCES project_versions (id),
                target_version_id text NOT NULL REFERENCES project_versions (id),
                kind text NOT NULL DEFAULT 'workdir.sync',
                host text NOT NULL,
                state text NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'canceled')),
                epoch bigint NOT NULL,
                attempts int NOT NULL DEFAULT 0,
                max_attempts int NOT NULL DEFAULT 3,
                lease_owner text,
                lease_expires_at timestamptz,
                run_after timestamptz NOT NULL DEFAULT now(),
                progress_percent int NOT NULL DEFAULT 0,
                phase text,
                error_code text,
                error_message text,
                previous_version_id text,
                previous_preview_url text,
                previous_status text NOT NULL,
                requested_by text NOT NULL,
                trace_parent text,
                created_at timestamptz NOT NULL DEFAULT now(),
                started_at timestamptz,
                finished_at timestamptz,
                updated_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX jobs_claimable ON jobs (host, run_after) WHERE state IN ('queued', 'running')",
            // A second guard beside the project's status: one unfinished job per project.
            "CREATE UNIQUE INDEX jobs_one_active_per_project ON jobs (project_id) WHERE state IN ('queued', 'running')",
            """
            CREATE TABLE idempotency_keys (
                caller text NOT NULL,
                key text NOT NULL,
                fingerprint text NOT NULL,
                response_status int NOT NULL,
                response_body text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                expires_at timestamptz NOT NULL,
                PRIMARY KEY (caller, key)
            )
            """,
            "CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at)",
            """
            CREATE TABLE held_builds (
                id bigserial PRIMARY KEY,
                project_id text NOT NULL REFERENCES projects (id),
                build_id text NOT NULL,
                payload text,
                epoch bigint NOT NULL,
                state text NOT NULL DEFAULT 'held' CHECK (state IN ('held', 'released', 'purged')),
                reason text,
                received_at timestamptz NOT NULL DEFAULT now(),
                settled_at timestamptz,
                UNIQUE (project_id, build_id)
            )
            """,
            """
            CREATE TABLE audit_log (
                id bigserial PRIMARY KEY,
                at timestamptz NOT NULL DEFAULT now(),
                caller text,
                actor text,
                action text NOT NULL,
                project_id text,
                outcome text NOT NULL,
                status_code int,
                reason text,
                details jsonb NOT NULL DEFAULT '{}',
                request_id text
            )
            """,
            "CREATE INDEX audit_log_by_project ON audit_log (project_id, at)",
            """
            CREATE TABLE events (
                id bigserial PRIMARY KEY,
                project_id text NOT NULL,
                type text NOT NULL,
                payload jsonb NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX events_by_project ON events (project_id, id)",
            """
            CREATE TABLE agents (
                host text PRIMARY KEY,
                socket_path text NOT NULL,
                agent_id text,
                last_seen_at timestamptz
            )
            """,
        ]
    )

    /// The write half of a rollback request as one server-side call: claim the Idempotency-Key
    /// (advisory lock, then look: each statement in a PL/pgSQL function sees what committed
    /// before it, so the look after the lock is never stale), then the compare-and-set with every
    /// insert hanging off it. One round trip, one implicit transaction. The argument is a JSON
    /// object `RollbackRecord.Arguments`; see `spec/http-api.md`.
    static let rollbackRecordFunction = Step(
        version: 2,
        name: "rollback_record(jsonb): claim the idempotency key and record a rollback in one call",
        statements: [
            """
            CREATE OR REPLACE FUNCTION rollback_record(r jsonb)
            RETURNS TABLE (outcome text, stored_status int, stored_body text, new_epoch bigint)
            LANGUAGE plpgsql AS $fn$
            #variable_conflict use_column
            DECLARE
                stored record;
                written bigint;
            BEGIN
                IF r->>'key' IS NOT NULL THEN
                    IF NOT pg_try_advisory_xact_lock((r->>'lockId')::bigint) THEN
                        RETURN QUERY SELECT 'in_flight'::text, NULL::int, NULL::text, NULL::bigint;
                        RETURN;
                    END IF;
                    SELECT k.fingerprint, k.response_status, k.response_body INTO stored FROM idempotency_keys k
                    WHERE k.caller = r->>'caller' AND k.key = r->>'key' AND k.expires_at > now();
                    IF FOUND THEN
                        IF stored.fingerprint = r->>'fingerprint' THEN
                            RETURN QUERY SELECT 'replay'::text, stored.response_status, stored.response_body, NULL::bigint;
                        ELSE
                            RETURN QUERY SELECT 'reused'::text, NULL::int, NULL::text, NULL::bigint;
                        END IF;
                        RETURN;
                    END IF;
                END IF;
                WITH project AS (
                    UPDATE projects p SET status = r->>'newStatus', epoch = p.epoch + 1,
                        current_version_id = r->>'versionId', preview_url = r->>'previewUrl',
                        active_job_id = (r->>'jobId')::uuid, updated_at = now()
                    WHERE p.id = r->>'projectId' AND p.epoch = (r->>'expectedEpoch')::bigint
                        AND p.status IN (SELECT jsonb_array_elements_text(r->'settled'))
                    RETURNING p.epoch
                ), version AS (
                    INSERT INTO project_versions (id, project_id, parent_version_id, kind, status, artifact_url,
                        artifact_sha256, artifact_size, preview_url, deployment_id)
                    SELECT r->>'versionId', r->>'projectId', r->>'targetVersionId', 'rollback', r->>'versionStatus',
                        r->>'artifactUrl', r->>'artifactSha256', (r->>'artifactSize')::bigint, r->>'previewUrl',
                        r->>'deploymentId'
                    FROM project
                ), job AS (
                    INSERT INTO jobs (id, project_id, version_id, target_version_id, host, state, epoch,
                        previous_version_id, previous_preview_url, previous_status, requested_by, trace_parent)
                    SELECT (r->>'jobId')::uuid, r->>'projectId', r->>'versionId', r->>'targetVersionId', r->>'host',
                        'queued', project.epoch, r->>'previousVersionId', r->>'previousPreviewUrl',
                        r->>'previousStatus', r->>'userId', r->>'traceParent'
                    FROM project WHERE r->>'jobId' IS NOT NULL
                ), event AS (
                    INSERT INTO events (project_id, type, payload)
                    SELECT r->>'projectId', 'rollbackStarted', r->'event' FROM project
                ), audit AS (
                    INSERT INTO audit_log (caller, actor, action, project_id, outcome, status_code, reason, details,
                        request_id)
                    SELECT r->>'caller', r->>'userId', r->>'auditAction', r->>'projectId', 'accepted', 200,
                        r->>'reason', r->'auditDetails', r->>'requestId'
                    FROM project
                ), idempotency AS (
                    INSERT INTO idempotency_keys (caller, key, fingerprint, response_status, response_body, expires_at)
                    SELECT r->>'caller', r->>'key', r->>'fingerprint', 200, r->>'response',
                        now() + make_interval(secs => (r->>'ttlSeconds')::int)
                    FROM project WHERE r->>'key' IS NOT NULL
                    ON CONFLICT (caller, key) DO UPDATE SET fingerprint = excluded.fingerprint,
                        response_status = excluded.response_status, response_body = excluded.response_body,
                        created_at = now(), expires_at = excluded.expires_at
                )
                SELECT project.epoch INTO written FROM project;
                IF written IS NULL THEN
                    RETURN QUERY SELECT 'busy'::text, NULL::int, NULL::text, NULL::bigint;
                ELSE
                    RETURN QUERY SELECT 'accepted'::text, 200, NULL::text, written;
                END IF;
            END
            $fn$
            """
        ]
    )
}

extension Migrations {
    /// Released builds are handed to the build sink after the outcome commits; `delivered_at`
    /// makes that hand-over an outbox that survives a crash in between.
    static let heldBuildDelivery = Step(
        version: 3,
        name: "held_builds.delivered_at: released builds are an outbox for the build sink",
        statements: [
            "ALTER TABLE held_builds ADD COLUMN delivered_at timestamptz",
            """
            CREATE INDEX held_builds_undelivered ON held_builds (id)
                WHERE state = 'released' AND delivered_at IS NULL
            """,
            "CREATE INDEX events_by_age ON events (created_at)",
        ]
    )
}
