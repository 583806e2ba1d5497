extension Migrations {
    /// A cancel is recorded on the job before anyone acts on it (the dispatcher running the job
    /// reads it with its heartbeat), and a canceled rollback version says so.
    static let rollbackCancel = Step(
        version: 6,
        name: "jobs.cancel_requested_*: cancel a rollback before the swap; version status canceled",
        statements: [
            """
            ALTER TABLE jobs ADD COLUMN cancel_requested_at timestamptz, ADD COLUMN cancel_requested_by text,
                ADD COLUMN cancel_reason text
            """,
            "ALTER TABLE project_versions DROP CONSTRAINT project_versions_status_check",
            """
            ALTER TABLE project_versions ADD CONSTRAINT project_versions_status_check
                CHECK (status IN ('ready', 'syncing', 'failed', 'canceled'))
            """,
        ]
    )
}
