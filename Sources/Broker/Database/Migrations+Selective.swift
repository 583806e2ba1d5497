extension Migrations {
    /// A selective rollback (`only`): the version and the job keep the paths; the version has no
    /// preview URL of its own (no built artifact of that mix exists), so it is never a rollback
    /// target. `rollback_record` writes both, derived from the previous definition.
    static let selectiveRollback = Step(
        version: 7,
        name: "selective_paths on versions and jobs; rollback_record writes them",
        statements: [
            "ALTER TABLE project_versions ADD COLUMN selective_paths jsonb",
            "ALTER TABLE jobs ADD COLUMN selective_paths jsonb",
            rollbackRecordSelective,
        ]
    )

    static let rollbackRecordSelective: String = {
        var text = rollbackRecordWithHistory
        let edits = [
            (
                "artifact_sha256, artifact_size, preview_url, deployment_id)",
                "artifact_sha256, artifact_size, preview_url, deployment_id, selective_paths)"
            ),
            (
                "(r->>'artifactSize')::bigint, r->>'previewUrl',",
                "(r->>'artifactSize')::bigint, CASE WHEN r->'only' IS NULL THEN r->>'previewUrl' END,"
            ),
            ("r->>'deploymentId'", "r->>'deploymentId', r->'only'"),
            (
                "previous_version_id, previous_preview_url, previous_status, requested_by, trace_parent)",
                "previous_version_id, previous_preview_url, previous_status, requested_by, trace_parent, selective_paths)"
            ),
            (
                "r->>'previousStatus', r->>'userId', r->>'traceParent'",
                "r->>'previousStatus', r->>'userId', r->>'traceParent', r->'only'"
            ),
        ]
        for (anchor, replacement) in edits {
            precondition(text.contains(anchor), "rollback_record changed shape; update migration 7")
            text = text.replacingOccurrences(of: anchor, with: replacement)
        }
        return text
    }()
}
