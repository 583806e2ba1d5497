import Foundation
import HTTPTypes
import Logging
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

    func cancel(
        projectID: String,
        _ request: RollbackCancelRequest,
        caller: ProjectService.Caller
    ) async throws -> APIResponse {
        guard
            let active = try await requestCancel(
                projectID: projectID,
                request,
                caller: caller
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
        caller: ProjectService.Caller
    ) async throws -> CancelStore.ActiveJob? {
        let logger = self.logger
        return try await database.transaction(stampedBy: caller.keyID) { connection in
            let (owner, found) = try await CancelStore.lockActive(
                projectID: projectID,
                on: connection,
                logger: logger
            )
            guard let owner else { throw APIError.projectNotFound(projectID) }
            try caller.checkOwner(of: projectID, owner: owner, claimedUser: request.userID)
            guard var active = found else { return nil }
            try await CancelStore.markRequested(
                active.job.id,
                by: request.userID,
                reason: request.reason,
                on: connection,
                logger: logger
            )
            active.job.cancelRequested = true
            try await AuditEntry(
                caller: caller.name,
                keyID: caller.keyID,
                actor: request.userID,
                action: "rollback.cancel",
                projectID: projectID,
                outcome: "requested",
                statusCode: 202,
                reason: request.reason,
                details: ["jobId": active.job.idText, "rollbackVersionId": active.job.versionID],
                requestID: caller.requestID
            ).insert(on: connection, logger: logger)
            return active
        }
    }

    private func jobState(_ id: UUID) async throws -> (QueueJobState, Int) {
        let logger = self.logger
        return try await database.connection { connection in
            try await CancelStore.state(of: id, on: connection, logger: logger)
        }
    }

    /// The answer for a project with no rollback running: its last rollback's cancel replayed
    /// when it was canceled, `too_late_to_cancel` when a cancel lost the race with its swap,
    /// `no_rollback_in_progress` otherwise.
    private func settledAnswer(projectID: String, job: UUID? = nil) async throws -> APIResponse {
        let logger = self.logger
        let found = try await database.connection { connection in
            try await CancelStore.lastRollback(projectID: projectID, job: job, on: connection, logger: logger)
        }
        guard let last = found else { throw APIError.projectNotFound(projectID) }
        if last.state == .canceled, let id = last.jobID, let versionID = last.versionID {
            return APIResponse(
                json: RollbackCancellation(
                    projectID: projectID,
                    jobID: id.uuidString.lowercased(),
                    rollbackVersionID: versionID,
                    state: .canceled,
                    status: last.status,
                    restoredVersionID: last.currentVersionID,
                    restoredPreviewURL: last.previewURL
                )
            )
        }
        if last.cancelRequested, last.state == .succeeded {
            throw APIError(
                .conflict,
                "too_late_to_cancel",
                "the rollback of project \(projectID) had passed its swap when the cancel came; it completed",
                details: ["projectId": projectID, "jobId": last.jobID?.uuidString.lowercased() ?? ""]
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
