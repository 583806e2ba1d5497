extension Migrations {
    /// Which key signed each audit row and history entry (the actor alone is what a body
    /// claimed, for a service key). The column's default reads the transaction-local setting
    /// `rollback.key_id`, which `Database.transaction(stampedBy:)` sets first, so that every row
    /// a request's transaction writes — including those `rollback_record` writes — is stamped
    /// without each insert naming it. Rows written by dispatchers and janitors have none.
    static let keyIdentity = Step(
        version: 9,
        name: "audit_log and project_history record the key that signed the request",
        statements: [
            """
            ALTER TABLE audit_log ADD COLUMN key_id text
                DEFAULT nullif(current_setting('rollback.key_id', true), '')
            """,
            """
            ALTER TABLE project_history ADD COLUMN key_id text
                DEFAULT nullif(current_setting('rollback.key_id', true), '')
            """,
        ]
    )
}
