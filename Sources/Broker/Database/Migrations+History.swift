extension Migrations {
    /// Every change of a project's current version, and every rollback's stages, for people to
    /// read (`GET /v1/projects/{id}/history`) and for `previous` to be resolved from. Kept a year
    /// by default (`historyRetentionDays`), apart from the 7-day event stream.
    ///
    /// `changes_current` marks the entries after which `to_version_id` is the project's current
    /// version: a build made current, a rollback started or preview-only (the preview switches
    /// at once), a failed or canceled rollback (the earlier version is restored).
    static let projectHistory = Step(
        version: 4,
        name: "project_history: who changed a project's current version, when, why, and what came of it",
        statements: [
            """
            CREATE TABLE project_history (
                id bigserial PRIMARY KEY,
                project_id text NOT NULL REFERENCES projects (id),
                at timestamptz NOT NULL DEFAULT now(),
                kind text NOT NULL CHECK (kind IN ('build', 'rollbackStarted', 'rollbackCompleted',
                    'rollbackFailed', 'rollbackCanceled', 'previewOnly', 'freeze', 'unfreeze')),
                actor text,
                caller text,
                reason text,
                from_version_id text,
                to_version_id text,
                target_version_id text,
                job_id uuid,
                outcome text NOT NULL,
                duration_ms bigint,
                commit_id text,
                tag text,
                error_code text,
                changes_current boolean NOT NULL DEFAULT false
            )
            """,
            "CREATE INDEX project_history_by_project ON project_history (project_id, id)",
            "CREATE INDEX project_history_by_age ON project_history (at)",
            "CREATE INDEX audit_log_by_age ON audit_log (at)",
            rollbackRecordWithHistory,
        ]
    )

    /// `rollback_record` of migration 2 with one more insert hanging off the compare-and-set:
    /// the history entry of the rollback's start (`previewOnly` without a job). Derived from the
    /// released text rather than copied, so the two cannot differ in anything else.
    static let rollbackRecordWithHistory: String = {
        let original = rollbackRecordFunction.statements[0]
        let anchor = "), idempotency AS ("
        precondition(original.contains(anchor), "rollback_record changed shape; update migration 4")
        return original.replacingOccurrences(
            of: anchor,
            with: """
                ), history AS (
                    INSERT INTO project_history (project_id, kind, actor, caller, reason, from_version_id,
                        to_version_id, target_version_id, job_id, outcome, changes_current)
                    SELECT r->>'projectId', CASE WHEN r->>'jobId' IS NULL THEN 'previewOnly' ELSE 'rollbackStarted' END,
                        r->>'userId', r->>'caller', r->>'reason', r->>'previousVersionId', r->>'versionId',
                        r->>'targetVersionId', (r->>'jobId')::uuid,
                        CASE WHEN r->>'jobId' IS NULL THEN 'succeeded' ELSE 'accepted' END, true
                    FROM project
                \(anchor)
                """
        )
    }()

    /// The statements that define `rollback_record` as the latest migration leaves it.
    static var currentRollbackRecord: String { rollbackRecordSelective }
}
