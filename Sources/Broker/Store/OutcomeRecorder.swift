import Foundation
import Logging
import PostgresNIO
import RollbackProtocol

/// The outcome aggregate: writes a job's outcome across `jobs`, `projects`, `project_versions`,
/// `held_builds`, `events` and `audit_log`, each in one transaction guarded by the lease and the
/// epoch: the job
/// row must still be this dispatcher's and running, and the project must still be `rollingBack`
/// at the job's epoch. A stale dispatcher's outcome writes nothing and returns nil.
struct OutcomeRecorder: Sendable {
    let database: Database
    let logger: Logger

    /// What a written outcome asks for after commit.
    struct Written: Sendable {
        /// In id order: the outcome event first, then one event per held build.
        var events: [StoredEvent]
        /// Builds released to the build system, in arrival order (success only).
        var releasedBuilds: [HeldBuild]
        /// The project's current version after the outcome (for the latest-version key).
        var currentVersionID: String?
    }

    /// Thrown inside the transaction to roll it back when a guard finds the write stale.
    struct Stale: Error {}

    /// Success: project `deployed`, version `ready`, job `succeeded`, held builds released in
    /// arrival order, `rollbackCompleted` and `buildReleased` events, an audit row.
    func succeed(_ job: ClaimedJob, owner: String, result: WorkdirSync.Result) async throws -> Written? {
        let logger = self.logger
        let durationMilliseconds = Int64(Date().timeIntervalSince(job.createdAt) * 1000)
        do {
            return try await database.transaction { connection in
                try await Self.finishJob(
                    job,
                    owner: owner,
                    state: "succeeded",
                    error: nil,
                    on: connection,
                    logger: logger
                )
                // With freezeAfterRollback the success also freezes the project (unless it is
                // frozen already); a frozen project's held builds stay held until unfreeze.
                let freezeReason = "rollback \(job.versionID) completed (freezeAfterRollback)"
                var freeze: (frozen: Bool, newly: Bool)?
                for try await row in try await connection.query(
                    """
                    UPDATE projects SET status = 'deployed', active_job_id = NULL, updated_at = now(),
                        frozen_at = CASE WHEN frozen_at IS NULL AND freeze_after_rollback THEN now() ELSE frozen_at END,
                        frozen_by = CASE WHEN frozen_at IS NULL AND freeze_after_rollback THEN 'freezeAfterRollback'
                            ELSE frozen_by END,
                        frozen_reason = CASE WHEN frozen_at IS NULL AND freeze_after_rollback THEN \(freezeReason)
                            ELSE frozen_reason END
                    WHERE id = \(job.projectID) AND epoch = \(job.epoch) AND status = 'rollingBack'
                    RETURNING frozen_at IS NOT NULL, frozen_at IS NOT NULL AND frozen_at = now()
                    """,
                    logger: logger
                ).decode((Bool, Bool).self) {
                    freeze = row
                }
                guard let freeze else { throw Stale() }
                try await connection.query(
                    "UPDATE project_versions SET status = 'ready' WHERE id = \(job.versionID)",
                    logger: logger
                )
                var builds =
                    freeze.frozen
                    ? []
                    : try await HeldBuildStore.settle(
                        projectID: job.projectID,
                        state: "released",
                        reason: "rollback \(job.versionID) completed",
                        on: connection,
                        logger: logger
                    )
                // A selective rollback's mix has no built artifact: ask for a build of it, last.
                if let only = job.only,
                    let rebuild = try await HeldBuildStore.requestRebuild(
                        projectID: job.projectID,
                        rollbackVersionID: job.versionID,
                        payload: String(
                            decoding: BrokerJSON.encode(
                                SelectiveRebuild(
                                    rollbackVersionID: job.versionID,
                                    targetVersionID: job.targetVersionID,
                                    only: only,
                                    commitID: result.commitID
                                )
                            ),
                            as: UTF8.self
                        ),
                        epoch: job.epoch,
                        frozen: freeze.frozen,
                        on: connection,
                        logger: logger
                    )
                {
                    builds.append(rebuild)
                }
                let events = try await Self.appendEvents(
                    RollbackCompletedEvent(
                        projectID: job.projectID,
                        jobID: job.idText,
                        rollbackVersionID: job.versionID,
                        epoch: job.epoch,
                        commitID: result.commitID,
                        tag: result.tag,
                        durationMilliseconds: durationMilliseconds,
                        releasedBuilds: builds.count
                    ),
                    type: .rollbackCompleted,
                    builds: builds,
                    buildEvent: .buildReleased,
                    reason: nil,
                    job: job,
                    on: connection,
                    logger: logger
                )
                try await Self.audit(
                    job,
                    action: "rollback.completed",
                    outcome: "succeeded",
                    reason: nil,
                    details: ["commitId": result.commitID ?? "", "releasedBuilds": "\(builds.count)"],
                    on: connection,
                    logger: logger
                )
                if freeze.newly {
                    try await HistoryStore.append(
                        HistoryStore.Append(
                            projectID: job.projectID,
                            kind: .freeze,
                            actor: "freezeAfterRollback",
                            reason: freezeReason,
                            fromVersionID: job.versionID,
                            toVersionID: job.versionID,
                            targetVersionID: nil,
                            jobID: job.id,
                            outcome: "succeeded",
                            changesCurrent: false
                        ),
                        on: connection,
                        logger: logger
                    )
                }
                try await HistoryStore.appendOutcome(
                    HistoryStore.Append(
                        projectID: job.projectID,
                        kind: .rollbackCompleted,
                        fromVersionID: nil,
                        toVersionID: job.versionID,
                        targetVersionID: job.targetVersionID,
                        jobID: job.id,
                        outcome: "succeeded",
                        durationMilliseconds: durationMilliseconds,
                        commitID: result.commitID,
                        tag: result.tag,
                        changesCurrent: false
                    ),
                    on: connection,
                    logger: logger
                )
                return Written(events: events, releasedBuilds: builds, currentVersionID: job.versionID)
            }
        } catch is Stale {
            return nil
        }
    }

    /// Failure: the preview URL and current version restored to what they were before the
    /// rollback, version `failed`, project `rollbackFailed`, held builds purged with the reason,
    /// `rollbackFailed` and `buildPurged` events, an audit row.
    func fail(_ job: ClaimedJob, owner: String, failure: DispatchFailure) async throws -> Written? {
        let logger = self.logger
        do {
            return try await database.transaction { connection in
                try await Self.finishJob(
                    job,
                    owner: owner,
                    state: "failed",
                    error: failure,
                    on: connection,
                    logger: logger
                )
                var restored: (version: String?, preview: String?, frozen: Bool)?
                for try await row in try await connection.query(
                    """
                    UPDATE projects p SET status = 'rollbackFailed', current_version_id = j.previous_version_id,
                        preview_url = j.previous_preview_url, active_job_id = NULL, updated_at = now()
                    FROM jobs j
                    WHERE j.id = \(job.id) AND p.id = j.project_id AND p.epoch = \(job.epoch)
                        AND p.status = 'rollingBack'
                    RETURNING p.current_version_id, p.preview_url, p.frozen_at IS NOT NULL
                    """,
                    logger: logger
                ).decode((String?, String?, Bool).self) {
                    restored = row
                }
                guard let restored else { throw Stale() }
                try await connection.query(
                    "UPDATE project_versions SET status = 'failed' WHERE id = \(job.versionID)",
                    logger: logger
                )
                let reason = "rollback \(job.versionID) failed: \(failure.code)"
                // A frozen project's held builds wait for its unfreeze, whatever the outcome.
                let builds =
                    restored.frozen
                    ? []
                    : try await HeldBuildStore.settle(
                        projectID: job.projectID,
                        state: "purged",
                        reason: reason,
                        on: connection,
                        logger: logger
                    )
                let events = try await Self.appendEvents(
                    RollbackFailedEvent(
                        projectID: job.projectID,
                        jobID: job.idText,
                        rollbackVersionID: job.versionID,
                        epoch: job.epoch,
                        errorCode: failure.code,
                        errorMessage: failure.message,
                        restoredVersionID: restored.version,
                        restoredPreviewURL: restored.preview,
                        purgedBuilds: builds.count
                    ),
                    type: .rollbackFailed,
                    builds: builds,
                    buildEvent: .buildPurged,
                    reason: reason,
                    job: job,
                    on: connection,
                    logger: logger
                )
                try await Self.audit(
                    job,
                    action: "rollback.failed",
                    outcome: "failed",
                    reason: failure.message,
                    details: ["errorCode": failure.code, "purgedBuilds": "\(builds.count)"],
                    on: connection,
                    logger: logger
                )
                try await HistoryStore.appendOutcome(
                    HistoryStore.Append(
                        projectID: job.projectID,
                        kind: .rollbackFailed,
                        fromVersionID: job.versionID,
                        toVersionID: restored.version,
                        targetVersionID: job.targetVersionID,
                        jobID: job.id,
                        outcome: "failed",
                        durationMilliseconds: Int64(Date().timeIntervalSince(job.createdAt) * 1000),
                        errorCode: failure.code,
                        changesCurrent: true
                    ),
                    on: connection,
                    logger: logger
                )
                return Written(events: events, releasedBuilds: [], currentVersionID: restored.version)
            }
        } catch is Stale {
            return nil
        }
    }

    // MARK: Statements

    /// Ends the job. With an `owner`, only while that dispatcher holds its lease; without one
    /// (a cancel of a job no dispatcher holds), only while it is queued.
    static func finishJob(
        _ job: ClaimedJob,
        owner: String?,
        state: String,
        error: DispatchFailure?,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        let percent = state == "succeeded" ? 100 : nil as Int?
        // The project row first, as every writer of a rollback's rows takes them (a cancel
        // request locks the project, then marks the job): the soak found the opposite order
        // here deadlocking with a cancel (40P01), which the cancel answered as a 500.
        try await connection.query(
            "SELECT 1 FROM projects WHERE id = \(job.projectID) FOR UPDATE",
            logger: logger
        )
        try await expectRow(
            try await connection.query(
                """
                UPDATE jobs SET state = \(state), lease_owner = NULL, lease_expires_at = NULL, finished_at = now(),
                    progress_percent = coalesce(\(percent), progress_percent),
                    phase = CASE WHEN \(state == "succeeded") THEN 'done' ELSE phase END,
                    error_code = \(error?.code), error_message = \(error?.message), updated_at = now()
                WHERE id = \(job.id) AND epoch = \(job.epoch)
                    AND ((lease_owner = \(owner)::text AND state = 'running')
                        OR (\(owner)::text IS NULL AND state = 'queued'))
                RETURNING 1
                """,
                logger: logger
            )
        )
    }

    /// The outcome's event, then one event per held build, in that order.
    static func appendEvents(
        _ outcome: some Encodable,
        type: RollbackEventType,
        builds: [HeldBuild],
        buildEvent: RollbackEventType,
        reason: String?,
        job: ClaimedJob,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> [StoredEvent] {
        var events = [
            try await appendEvent(outcome, type: type, project: job.projectID, on: connection, logger: logger)
        ]
        for build in builds {
            events.append(
                try await appendEvent(
                    HeldBuildEvent(
                        type: buildEvent,
                        projectID: job.projectID,
                        buildID: build.buildID,
                        reason: reason
                    ),
                    type: buildEvent,
                    project: job.projectID,
                    on: connection,
                    logger: logger
                )
            )
        }
        return events
    }

    static func appendEvent(
        _ payload: some Encodable,
        type: RollbackEventType,
        project: String,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> StoredEvent {
        guard
            let event = try await EventStore.append(
                payload,
                type: type,
                project: project,
                on: connection,
                logger: logger
            )
        else { throw Stale() }
        return event
    }

    static func audit(
        _ job: ClaimedJob,
        action: String,
        outcome: String,
        reason: String?,
        details: [String: String],
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        var details = details
        details["jobId"] = job.idText
        details["epoch"] = "\(job.epoch)"
        details["attempts"] = "\(job.attempts)"
        let json = String(decoding: BrokerJSON.encode(details), as: UTF8.self)
        try await connection.query(
            """
            INSERT INTO audit_log (caller, actor, action, project_id, outcome, reason, details)
            VALUES ('dispatcher', 'dispatcher', \(action), \(job.projectID), \(outcome), \(reason), \(json)::jsonb)
            """,
            logger: logger
        )
    }

    static func expectRow(_ rows: PostgresRowSequence) async throws {
        for try await _ in rows { return }
        throw Stale()
    }
}
