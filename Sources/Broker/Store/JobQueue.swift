import Foundation
import Logging
import PostgresNIO
import RollbackProtocol

/// The dispatcher's side of the `jobs` table: claim with `FOR UPDATE SKIP LOCKED` and a lease,
/// renew the lease, record progress, and put a job back for a retry. Every write after the claim
/// is guarded by the lease owner, so a dispatcher that lost its lease changes nothing.
struct JobQueue: Sendable {
    let database: Database
    let logger: Logger

    /// Claims the oldest claimable job of `hosts`: queued and due, or running with an expired
    /// lease that is not one of the jobs this dispatcher is `running` now (a rescue: of a dead
    /// dispatcher's job, or of its own whose outcome it could not write). A fresh claim starts a
    /// new attempt; a rescue continues the current one.
    func claim(
        hosts: [String],
        owner: String,
        running: [UUID] = [],
        leaseSeconds: Int
    ) async throws -> ClaimedJob? {
        let logger = self.logger
        return try await database.connection { connection in
            let rows = try await connection.query(
                """
                WITH candidate AS (
                    SELECT id, state AS previous_state FROM jobs
                    WHERE host = ANY(\(hosts))
                        AND ((state = 'queued' AND run_after <= now())
                            OR (state = 'running' AND lease_expires_at < now()
                                -- Never a job it is still running: a late heartbeat is not a death.
                                AND (lease_owner IS DISTINCT FROM \(owner) OR NOT (id = ANY(\(running))))))
                    ORDER BY run_after, created_at
                    LIMIT 1
                    FOR UPDATE SKIP LOCKED
                ), claimed AS (
                    UPDATE jobs j SET state = 'running', lease_owner = \(owner),
                        lease_expires_at = now() + make_interval(secs => \(leaseSeconds)),
                        attempts = CASE WHEN c.previous_state = 'queued' THEN j.attempts + 1 ELSE j.attempts END,
                        started_at = coalesce(j.started_at, now()), updated_at = now()
                    FROM candidate c, project_versions v
                    WHERE j.id = c.id AND v.id = j.version_id
                    RETURNING \(unescaped: ClaimedJob.columns), c.previous_state
                ), audit AS (
                    INSERT INTO audit_log (caller, actor, action, project_id, outcome, details)
                    SELECT 'dispatcher', \(owner),
                        CASE WHEN previous_state = 'running' THEN 'job.rescued' ELSE 'job.claimed' END,
                        project_id, 'running',
                        jsonb_build_object('jobId', id, 'attempt', attempts, 'epoch', epoch, 'host', host)
                    FROM claimed
                )
                SELECT * FROM claimed
                """,
                logger: logger
            )
            for try await row in rows {
                let columns = row.makeRandomAccess()
                return try ClaimedJob(
                    columns,
                    rescued: try columns["previous_state"].decode(String.self) == "running"
                )
            }
            return nil
        }
    }

    /// What a renewal found.
    enum Renewal: Sendable, Equatable {
        /// This dispatcher no longer holds the lease.
        case lost
        case held(cancelRequested: Bool)
    }

    /// Extends the lease, and reads whether a cancel was requested meanwhile.
    func renew(_ job: ClaimedJob, owner: String, leaseSeconds: Int) async throws -> Renewal {
        let logger = self.logger
        return try await database.connection { connection in
            let rows = try await connection.query(
                """
                UPDATE jobs SET lease_expires_at = now() + make_interval(secs => \(leaseSeconds)), updated_at = now()
                WHERE id = \(job.id) AND lease_owner = \(owner) AND state = 'running'
                RETURNING cancel_requested_at IS NOT NULL
                """,
                logger: logger
            )
            for try await cancelRequested in rows.decode(Bool.self) {
                return .held(cancelRequested: cancelRequested)
            }
            return .lost
        }
    }

    /// Stores progress on the job and appends a `rollbackProgress` event; returns the event (for
    /// publishing), or nil when the lease is gone. The event carries the job's stored percent,
    /// which never decreases: a retried attempt that starts again at 0 does not move a progress
    /// bar back.
    func recordProgress(
        _ job: ClaimedJob,
        owner: String,
        percent: Int,
        phase: String,
        payload: String
    ) async throws -> StoredEvent? {
        let logger = self.logger
        return try await database.connection { connection in
            let rows = try await connection.query(
                """
                WITH job AS (
                    UPDATE jobs SET progress_percent = greatest(progress_percent, \(percent)), phase = \(phase),
                        updated_at = now()
                    WHERE id = \(job.id) AND lease_owner = \(owner) AND state = 'running'
                    RETURNING project_id, progress_percent
                )
                INSERT INTO events (project_id, type, payload)
                SELECT project_id, 'rollbackProgress',
                    jsonb_set(\(payload)::jsonb, '{percent}', to_jsonb(progress_percent))
                FROM job
                RETURNING id, payload::text AS payload
                """,
                logger: logger
            )
            for try await row in rows {
                let columns = row.makeRandomAccess()
                return StoredEvent(
                    id: try columns["id"].decode(Int64.self),
                    projectID: job.projectID,
                    type: "rollbackProgress",
                    payload: try columns["payload"].decode(String.self)
                )
            }
            return nil
        }
    }

    /// Puts the job back in the queue to run after `delay`, keeping the error that caused it.
    func requeue(
        _ job: ClaimedJob,
        owner: String,
        after delay: Duration,
        error: DispatchFailure
    ) async throws -> Bool {
        let milliseconds = Int(
            delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000
        )
        return try await updated(
            """
            WITH job AS (
                UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_expires_at = NULL,
                    run_after = now() + make_interval(secs => \(Double(milliseconds) / 1000)),
                    error_code = \(error.code), error_message = \(error.message), updated_at = now()
                WHERE id = \(job.id) AND lease_owner = \(owner) AND state = 'running'
                RETURNING id, project_id, attempts
            ), audit AS (
                INSERT INTO audit_log (caller, actor, action, project_id, outcome, reason, details)
                SELECT 'dispatcher', \(owner), 'job.retry', project_id, 'queued', \(error.message),
                    jsonb_build_object('jobId', id, 'attempt', attempts, 'errorCode', \(error.code)::text,
                        'retryAfterMilliseconds', \(milliseconds))
                FROM job
            )
            SELECT 1 FROM job
            """
        )
    }

    /// How many jobs are waiting and how many rollbacks are unfinished (for the gauges).
    func depth() async throws -> (queued: Int, unfinished: Int) {
        let logger = self.logger
        return try await database.connection { connection in
            let rows = try await connection.query(
                """
                SELECT count(*) FILTER (WHERE state = 'queued')::int AS queued, count(*)::int AS unfinished
                FROM jobs WHERE state IN ('queued', 'running')
                """,
                logger: logger
            )
            for try await row in rows {
                let columns = row.makeRandomAccess()
                return (try columns["queued"].decode(Int.self), try columns["unfinished"].decode(Int.self))
            }
            return (0, 0)
        }
    }

    private func updated(_ query: PostgresQuery) async throws -> Bool {
        let logger = self.logger
        return try await database.connection { connection in
            for try await _ in try await connection.query(query, logger: logger) { return true }
            return false
        }
    }
}
