extension Migrations {
    /// A frozen project keeps every new build held (not sent to the build system) until someone
    /// unfreezes it. `freeze_after_rollback` freezes the project when a rollback succeeds, so
    /// the builds held during it stay held.
    static let projectFreeze = Step(
        version: 5,
        name: "projects.frozen_*: freeze and unfreeze, and freezeAfterRollback",
        statements: [
            """
            ALTER TABLE projects ADD COLUMN frozen_at timestamptz, ADD COLUMN frozen_by text,
                ADD COLUMN frozen_reason text, ADD COLUMN freeze_after_rollback boolean NOT NULL DEFAULT false
            """
        ]
    )
}
