import Foundation
import HTTPTypes
import Logging
import PostgresNIO
import RollbackClient
import RollbackProtocol

/// `POST /v1/projects/{projectId}/rollback/cancel` (see `spec/http-api.md`): records the cancel
/// on the job, then ends it. A queued job (waiting for a dispatcher or for its next attempt) is
/// canceled at once. A running one is stopped at the agent, by this instance when it can reach
/// the agent and by the dispatcher's heartbeat in any case; the agent refuses past its swap, and
/// the rollback then completes. Idempotent: a cancel of a canceled rollback answers the same.
struct CancelService: Sendable {
    let database: Database
    let agents: AgentReach
    let outcomes: OutcomeRecorder
    let effects: OutcomeEffects
    let logger: Logger
    /// How long the request waits for the job to end before it answers 202 `cancelRequested`.
    var wait: Duration = .seconds(10)

    /// The project's rollback job as the cancel sees it.
    private struct ActiveJob: Sendable {
        var job: ClaimedJob
        var state: QueueJobState
        var leased: Bool
    }

    func cancel(
        projectID: String,
        _ request: RollbackCancelRequest,
        caller: String,
        requestID: String
    ) async throws -> APIResponse {
        guard
            let active = try await requestCancel(
                projectID: projectID,
                request,
                caller: caller,
                requestID: requestID
            )
        else {
            return try await settledAnswer(projectID: projectID)
        }
        var job = active.job
        if active.state == .queued || !active.leased {
            // No dispatcher holds it: end it here. (Nil when a dispatcher claimed it meanwhile.)
            if let canceled = try await outcomes.cancel(job, owner: nil) {
                await effects.apply(canceled.written, projectID: projectID, epoch: job.epoch, logger: logger)
                return answer(canceled, job: job)
            }
        }
        let client = try? agents.client(forHost: job.host)
        var agentAnswered = false
        let deadline = ContinuousClock.now + wait
        while ContinuousClock.now < deadline {
            let (state, attempts) = try await jobState(job.id)
            job.attempts = attempts
            switch state {
            case .canceled: return try await settledAnswer(projectID: projectID, job: job.id)
            case .succeeded: throw Self.tooLate(projectID, job: job)
            case .failed: throw Self.alreadyEnded(projectID, job: job)
            case .queued:
                // Between attempts: no dispatcher holds it now.
                if let canceled = try await outcomes.cancel(job, owner: nil) {
                    await effects.apply(
                        canceled.written,
                        projectID: projectID,
                        epoch: job.epoch,
                        logger: logger
                    )
                    return answer(canceled, job: job)
                }
            case .running:
                if let client, !agentAnswered {
                    agentAnswered = try await askAgent(client, job: job, projectID: projectID)
                }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return APIResponse(
            status: .accepted,
            json: RollbackCancellation(
                projectID: projectID,
                jobID: job.idText,
                rollbackVersionID: job.versionID,
                state: .cancelRequested,
                status: nil,
                restoredVersionID: nil,
                restoredPreviewURL: nil
            )
        )
    }

    /// Asks the agent to stop the current attempt. True once it has agreed (the dispatcher then
    /// records the cancel); throws `too_late_to_cancel` when the job is past its swap; false when
    /// the agent does not know the attempt yet (its sync is on the way) or cannot be reached.
    private func askAgent(_ client: AgentClient, job: ClaimedJob, projectID: String) async throws -> Bool {
        do {
            let answer = try await client.cancel(
                jobID: job.agentJobID(attempt: job.attempts),
                reason: "canceled"
            )
            if answer.willStop { return true }
            switch answer.state {
            case .accepted, .running, .succeeded: throw Self.tooLate(projectID, job: job)
            case .failed, .cancelled, .interrupted: return true  // the dispatcher records its outcome
            }
        } catch let error as APIError {
            throw error
        } catch {
            logger.debug("the agent cannot take the cancel yet", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// Records the cancel on the project's active rollback job, with an audit row; nil when the
    /// project has none (it is not rolling back).
    private func requestCancel(
        projectID: String,
        _ request: RollbackCancelRequest,
        caller: String,
        requestID: String
    ) async throws -> ActiveJob? {
        let logger = self.logger
        return try await database.transaction { connection in
            var owner: String?
            var active: ActiveJob?
            for try await row in try await connection.query(
                """
                SELECT p.user_id, j.id, j.version_id, j.target_version_id, j.host, j.epoch, j.attempts, j.max_attempts,
                    j.created_at, j.state, coalesce(j.lease_expires_at > now(), false) AS leased
                FROM projects p LEFT JOIN jobs j ON j.id = p.active_job_id AND j.state IN ('queued', 'running')
                WHERE p.id = \(projectID)
                FOR UPDATE OF p
                """,
                logger: logger
            ) {
                let columns = row.makeRandomAccess()
                owner = try columns["user_id"].decode(String.self)
                guard let id = try columns["id"].decode(UUID?.self) else { continue }
                active = ActiveJob(
                    job: ClaimedJob(
                        id: id,
                        projectID: projectID,
                        versionID: try columns["version_id"].decode(String.self),
                        targetVersionID: try columns["target_version_id"].decode(String.self),
                        host: try columns["host"].decode(String.self),
                        epoch: try columns["epoch"].decode(Int64.self),
                        attempts: try columns["attempts"].decode(Int.self),
                        maxAttempts: try columns["max_attempts"].decode(Int.self),
                        artifact: WorkdirSync.Artifact(url: "", sha256: "", sizeBytes: 0),
                        traceParent: nil,
                        createdAt: try columns["created_at"].decode(Date.self),
                        rescued: false,
                        cancelRequested: true
                    ),
                    state: QueueJobState(rawValue: try columns["state"].decode(String.self)) ?? .running,
                    leased: try columns["leased"].decode(Bool.self)
                )
            }
            guard let owner else { throw APIError.projectNotFound(projectID) }
            guard owner == request.userID else {
                throw APIError.projectNotOwned(projectID, user: request.userID)
            }
            guard let active else { return nil }
            try await connection.query(
                """
                UPDATE jobs SET cancel_requested_at = coalesce(cancel_requested_at, now()),
                    cancel_requested_by = coalesce(cancel_requested_by, \(request.userID)),
                    cancel_reason = coalesce(cancel_reason, \(request.reason)), updated_at = now()
                WHERE id = \(active.job.id)
                """,
                logger: logger
            )
            try await AuditEntry(
                caller: caller,
                actor: request.userID,
                action: "rollback.cancel",
                projectID: projectID,
                outcome: "requested",
                statusCode: 202,
                reason: request.reason,
                details: ["jobId": active.job.idText, "rollbackVersionId": active.job.versionID],
                requestID: requestID
            ).insert(on: connection, logger: logger)
            return active
        }
    }

    private func jobState(_ id: UUID) async throws -> (QueueJobState, Int) {
        let logger = self.logger
        return try await database.connection { connection in
            for try await (state, attempts) in try await connection.query(
                "SELECT state, attempts FROM jobs WHERE id = \(id)",
                logger: logger
            ).decode((String, Int).self) {
                return (QueueJobState(rawValue: state) ?? .running, attempts)
            }
            return (.failed, 0)
        }
    }

    /// The answer for a project with no rollback running: its last rollback's cancel replayed
    /// when it was canceled, `too_late_to_cancel` when a cancel lost the race with its swap,
    /// `no_rollback_in_progress` otherwise.
    private func settledAnswer(projectID: String, job: UUID? = nil) async throws -> APIResponse {
        let logger = self.logger
        let last = try await database.connection { connection in
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
                return (
                    id: try columns["id"].decode(UUID?.self),
                    versionID: try columns["version_id"].decode(String?.self),
                    state: try columns["state"].decode(String?.self),
                    cancelRequested: try columns["cancel_requested"].decode(Bool?.self) ?? false,
                    status: ProjectStatus(rawValue: try columns["status"].decode(String.self)),
                    current: try columns["current_version_id"].decode(String?.self),
                    preview: try columns["preview_url"].decode(String?.self)
                )
            }
            throw APIError.projectNotFound(projectID)
        }
        if last.state == QueueJobState.canceled.rawValue, let id = last.id, let versionID = last.versionID {
            return APIResponse(
                json: RollbackCancellation(
                    projectID: projectID,
                    jobID: id.uuidString.lowercased(),
                    rollbackVersionID: versionID,
                    state: .canceled,
                    status: last.status,
                    restoredVersionID: last.current,
                    restoredPreviewURL: last.preview
                )
            )
        }
        if last.cancelRequested, last.state == QueueJobState.succeeded.rawValue {
            throw APIError(
                .conflict,
                "too_late_to_cancel",
                "the rollback of project \(projectID) had passed its swap when the cancel came; it completed",
                details: ["projectId": projectID, "jobId": last.id?.uuidString.lowercased() ?? ""]
            )
        }
        throw APIError(
            .conflict,
            "no_rollback_in_progress",
            "project \(projectID) is not rolling back; there is nothing to cancel",
            details: ["projectId": projectID, "status": last.status?.rawValue ?? ""]
        )
    }

    private func answer(_ canceled: OutcomeRecorder.Canceled, job: ClaimedJob) -> APIResponse {
        APIResponse(
            json: RollbackCancellation(
                projectID: job.projectID,
                jobID: job.idText,
                rollbackVersionID: job.versionID,
                state: .canceled,
                status: canceled.status,
                restoredVersionID: canceled.restoredVersionID,
                restoredPreviewURL: canceled.restoredPreviewURL
            )
        )
    }

    static func tooLate(_ project: String, job: ClaimedJob) -> APIError {
        APIError(
            .conflict,
            "too_late_to_cancel",
            "the rollback of project \(project) is past its swap: it will complete, and cannot be canceled",
            details: ["projectId": project, "jobId": job.idText]
        )
    }

    static func alreadyEnded(_ project: String, job: ClaimedJob) -> APIError {
        APIError(
            .conflict,
            "no_rollback_in_progress",
            "the rollback of project \(project) failed before the cancel took effect; the project was restored",
            details: ["projectId": project, "jobId": job.idText]
        )
    }
}
