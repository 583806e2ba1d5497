import Foundation
import Logging
import PostgresNIO
import RollbackProtocol

/// The cancel's side of `projects` and `jobs` (`CancelService`): record a cancel on the
/// project's running rollback job, read where the job stands, and read the project's last
/// rollback when none is running.
enum CancelStore {
    /// The project's running rollback job as the cancel sees it.
    struct ActiveJob: Sendable {
        var job: ClaimedJob
        var state: QueueJobState
        /// A dispatcher holds an unexpired lease on it.
        var leased: Bool
    }

    /// The project's last rollback job and what the project shows now.
    struct LastRollback: Sendable {
        var jobID: UUID?
        var versionID: String?
        var state: QueueJobState?
        var cancelRequested: Bool
        var status: ProjectStatus?
        var currentVersionID: String?
        var previewURL: String?
    }

    /// Locks the project row and reads its owner and its running rollback job (nil without one);
    /// nil owner when the project does not exist.
    static func lockActive(
        projectID: String,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> (owner: String?, active: ActiveJob?) {
        var owner: String?
        var active: ActiveJob?
        for try await row in try await connection.query(
            """
            SELECT p.user_id, \(unescaped: ClaimedJob.columns), j.state,
                coalesce(j.lease_expires_at > now(), false) AS leased
            FROM projects p
            LEFT JOIN jobs j ON j.id = p.active_job_id AND j.state IN ('queued', 'running')
            LEFT JOIN project_versions v ON v.id = j.version_id
            WHERE p.id = \(projectID)
            FOR UPDATE OF p
            """,
            logger: logger
        ) {
            let columns = row.makeRandomAccess()
            owner = try columns["user_id"].decode(String.self)
            guard try columns["id"].decode(UUID?.self) != nil else { continue }
            active = ActiveJob(
                job: try ClaimedJob(columns, rescued: false),
                state: QueueJobState(rawValue: try columns["state"].decode(String.self)) ?? .running,
                leased: try columns["leased"].decode(Bool.self)
            )
        }
        return (owner, active)
    }

    /// Records who asked to cancel `job` and why (the first request's stay).
    static func markRequested(
        _ job: UUID,
        by user: String,
        reason: String?,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        try await connection.query(
            """
            UPDATE jobs SET cancel_requested_at = coalesce(cancel_requested_at, now()),
                cancel_requested_by = coalesce(cancel_requested_by, \(user)),
                cancel_reason = coalesce(cancel_reason, \(reason)), updated_at = now()
            WHERE id = \(job)
            """,
            logger: logger
        )
    }

    /// The job's state and attempts (`failed` when it is gone).
    static func state(
        of job: UUID,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws
        -> (QueueJobState, Int)
    {
        for try await (state, attempts) in try await connection.query(
            "SELECT state, attempts FROM jobs WHERE id = \(job)",
            logger: logger
        ).decode((String, Int).self) {
            return (QueueJobState(rawValue: state) ?? .running, attempts)
        }
        return (.failed, 0)
    }

    /// The project's last rollback job (or `job` itself), nil when the project does not exist.
    static func lastRollback(
        projectID: String,
        job: UUID?,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> LastRollback? {
        for try await row in try await connection.query(
            """
            SELECT j.id, j.version_id, j.state, j.cancel_requested_at IS NOT NULL AS cancel_requested,
                p.status, p.current_version_id, p.preview_url
            FROM projects p LEFT JOIN LATERAL (
                SELECT * FROM jobs WHERE project_id = p.id AND (\(job)::uuid IS NULL OR id = \(job))
                ORDER BY created_at DESC LIMIT 1
            ) j ON true
            WHERE p.id = \(projectID)
            """,
            logger: logger
        ) {
            let columns = row.makeRandomAccess()
            return LastRollback(
                jobID: try columns["id"].decode(UUID?.self),
                versionID: try columns["version_id"].decode(String?.self),
                state: try columns["state"].decode(String?.self).flatMap(QueueJobState.init(rawValue:)),
                cancelRequested: try columns["cancel_requested"].decode(Bool?.self) ?? false,
                status: ProjectStatus(rawValue: try columns["status"].decode(String.self)),
                currentVersionID: try columns["current_version_id"].decode(String?.self),
                previewURL: try columns["preview_url"].decode(String?.self)
            )
        }
        return nil
    }
}
