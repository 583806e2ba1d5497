import Foundation
import Logging
import PostgresNIO
import RollbackProtocol

extension OutcomeRecorder {
    /// Who canceled a rollback, and why (from the job's `cancel_requested_*`).
    struct Cancellation: Sendable {
        var by: String
        var reason: String?
    }

    /// What a written cancel restored.
    struct Canceled: Sendable {
        var written: Written
        var status: ProjectStatus
        var restoredVersionID: String?
        var restoredPreviewURL: String?
    }

    /// Cancel: the job `canceled`, the version `canceled`, the project's version, preview URL and
    /// status put back as they were before the rollback, held builds released in arrival order
    /// (unless the project is frozen), `rollbackCanceled` and `buildReleased` events, an audit row
    /// and a history entry. Only for a job whose cancel was requested; with `owner`, only while
    /// that dispatcher holds the lease, without one only while the job is queued. Nil when a
    /// guard finds the write stale (nothing is written).
    func cancel(_ job: ClaimedJob, owner: String?) async throws -> Canceled? {
        let logger = self.logger
        do {
            return try await database.transaction { connection in
                var requested: Cancellation?
                for try await (by, reason) in try await connection.query(
                    "SELECT cancel_requested_by, cancel_reason FROM jobs WHERE id = \(job.id) AND cancel_requested_at IS NOT NULL",
                    logger: logger
                ).decode((String, String?).self) {
                    requested = Cancellation(by: by, reason: reason)
                }
                guard let requested else { throw Stale() }
                try await Self.finishJob(
                    job,
                    owner: owner,
                    state: "canceled",
                    error: nil,
                    on: connection,
                    logger: logger
                )
                var restored: (version: String?, preview: String?, status: String, frozen: Bool)?
                for try await row in try await connection.query(
                    """
                    UPDATE projects p SET status = j.previous_status, current_version_id = j.previous_version_id,
                        preview_url = j.previous_preview_url, active_job_id = NULL, updated_at = now()
                    FROM jobs j
                    WHERE j.id = \(job.id) AND p.id = j.project_id AND p.epoch = \(job.epoch)
                        AND p.status = 'rollingBack'
                    RETURNING p.current_version_id, p.preview_url, p.status, p.frozen_at IS NOT NULL
                    """,
                    logger: logger
                ).decode((String?, String?, String, Bool).self) {
                    restored = row
                }
                guard let restored, let status = ProjectStatus(rawValue: restored.status) else {
                    throw Stale()
                }
                try await connection.query(
                    "UPDATE project_versions SET status = 'canceled' WHERE id = \(job.versionID)",
                    logger: logger
                )
                // The builds were held so that they could not race the swap; the cancel stopped
                // the rollback before it, so they go on as if no rollback had started.
                let builds =
                    restored.frozen
                    ? []
                    : try await HeldBuildStore.settle(
                        projectID: job.projectID,
                        state: "released",
                        reason: "rollback \(job.versionID) canceled by \(requested.by)",
                        on: connection,
                        logger: logger
                    )
                let events = try await Self.appendEvents(
                    RollbackCanceledEvent(
                        projectID: job.projectID,
                        jobID: job.idText,
                        rollbackVersionID: job.versionID,
                        epoch: job.epoch,
                        canceledBy: requested.by,
                        reason: requested.reason,
                        restoredVersionID: restored.version,
                        restoredPreviewURL: restored.preview,
                        releasedBuilds: builds.count
                    ),
                    type: .rollbackCanceled,
                    builds: builds,
                    buildEvent: .buildReleased,
                    reason: nil,
                    job: job,
                    on: connection,
                    logger: logger
                )
                try await Self.audit(
                    job,
                    action: "rollback.canceled",
                    outcome: "canceled",
                    reason: requested.reason,
                    details: ["canceledBy": requested.by, "releasedBuilds": "\(builds.count)"],
                    on: connection,
                    logger: logger
                )
                try await HistoryStore.append(
                    HistoryStore.Append(
                        projectID: job.projectID,
                        kind: .rollbackCanceled,
                        actor: requested.by,
                        reason: requested.reason,
                        fromVersionID: job.versionID,
                        toVersionID: restored.version,
                        targetVersionID: job.targetVersionID,
                        jobID: job.id,
                        outcome: "canceled",
                        durationMilliseconds: Int64(Date().timeIntervalSince(job.createdAt) * 1000),
                        changesCurrent: true
                    ),
                    on: connection,
                    logger: logger
                )
                return Canceled(
                    written: Written(
                        events: events,
                        releasedBuilds: builds,
                        currentVersionID: restored.version
                    ),
                    status: status,
                    restoredVersionID: restored.version,
                    restoredPreviewURL: restored.preview
                )
            }
        } catch is Stale {
            return nil
        }
    }
}
