import Foundation
import Logging
import PostgresNIO
import RollbackProtocol

/// Steps 1–3 of a rollback (see `ARCHITECTURE.md`): check, lock, and record everything in one
/// PostgreSQL transaction, then answer.
struct RollbackService: Sendable {
    let database: Database
    let lock: ProjectLock
    let redis: RedisClient
    let keys: RedisKeys
    let settings: BrokerSettings
    let logger: Logger

    /// What the route knows about the request besides its body.
    struct Context: Sendable {
        var caller: String
        var requestID: String
        var idempotency: Idempotency?
        var traceParent: String?
    }

    /// The outcome: the answer, plus what to do once the transaction has committed.
    private struct Committed: Sendable {
        var response: APIResponse
        var accepted: RollbackAccepted?
        var eventPayload: [UInt8]?
    }

    func rollback(_ request: RollbackRequest, context: Context) async throws -> APIResponse {
        let skip = request.skipWorkingDirectory ?? false
        var requestLogger = self.logger
        requestLogger[metadataKey: "project.id"] = "\(request.projectId)"
        requestLogger[metadataKey: "request.id"] = "\(context.requestID)"
        let logger = requestLogger

        let committed = try await database.transaction { connection in
            if let idempotency = context.idempotency,
                let replay = try await idempotency.claim(on: connection, logger: logger)
            {
                try await AuditEntry(
                    caller: context.caller,
                    actor: request.userId,
                    action: "rollback",
                    projectID: request.projectId,
                    outcome: "replayed",
                    statusCode: Int(replay.status.code),
                    reason: nil,
                    details: ["idempotencyKey": idempotency.key],
                    requestID: context.requestID
                ).insert(on: connection, logger: logger)
                return Committed(response: replay)
            }
            let found = try await ProjectRow.findWithVersion(
                request.projectId,
                versionID: request.targetVersionId,
                on: connection,
                logger: logger
            )
            let project = try checkedProject(request, found?.0)
            let target = try checkedTarget(request, found?.1, skip: skip)

            // The fast guard, before any write: its value is the epoch this transaction will
            // write, and the status compare-and-set below refuses if anyone moved the epoch.
            let newEpoch = project.epoch + 1
            let acquired: Bool
            do {
                acquired = try await lock.acquireOrReplaceStale(
                    project: project.id,
                    epoch: newEpoch,
                    settledEpoch: project.epoch,
                    ttlSeconds: settings.lockTTLSeconds
                )
            } catch {
                throw APIError.redisUnavailable("\(error)")
            }
            guard acquired else { throw Self.busy(project.id, because: "its rollback lock is held") }
            do {
                return try await record(
                    request,
                    skip: skip,
                    project: project,
                    target: target,
                    newEpoch: newEpoch,
                    context: context,
                    on: connection,
                    logger: logger
                )
            } catch {
                // Whatever failed, the transaction rolls back: give the lock back too.
                _ = try? await lock.release(project: project.id, epoch: newEpoch)
                throw error
            }
        }
        if let accepted = committed.accepted {
            await afterCommit(accepted, skip: skip, event: committed.eventPayload)
        }
        return committed.response
    }

    /// Writes the whole rollback in ONE statement (data-modifying CTEs): the version, the
    /// project's compare-and-set, the job, the event, the audit row and the idempotency key. Every
    /// insert hangs off the compare-and-set's row, so if it matched nothing, nothing else is
    /// written; and one round trip instead of six keeps the request short.
    private func record(
        _ request: RollbackRequest,
        skip: Bool,
        project: ProjectRow,
        target: VersionRow,
        newEpoch: Int64,
        context: Context,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Committed {
        let versionID = UUID().uuidString.lowercased()
        let jobID: UUID? = skip ? nil : UUID()
        let previewURL = target.previewURL ?? ""
        let newStatus = skip ? project.status : .rollingBack
        let settled = ProjectStatus.allCases.filter(\.isSettled).map(\.rawValue)
        let accepted = RollbackAccepted(
            rollbackVersionId: versionID,
            targetVersionId: target.id,
            projectId: project.id,
            previewUrl: previewURL,
            status: newStatus,
            jobId: jobID.map { $0.uuidString.lowercased() },
            epoch: newEpoch,
            publishUrl: "/v1/versions/\(versionID)/publish"
        )
        let response = APIResponse(json: accepted)
        let event = BrokerJSON.encode(
            RollbackStartedEvent(
                type: "rollbackStarted",
                projectId: project.id,
                rollbackVersionId: versionID,
                targetVersionId: target.id,
                jobId: accepted.jobId,
                epoch: newEpoch,
                previewUrl: previewURL,
                skipWorkingDirectory: skip
            )
        )
        let auditDetails = BrokerJSON.encode([
            "targetVersionId": target.id, "rollbackVersionId": versionID, "epoch": String(newEpoch),
            "jobId": accepted.jobId ?? "",
        ])
        let idempotency = context.idempotency
        let rows = try await connection.query(
            """
            WITH version AS (
                INSERT INTO project_versions (id, project_id, parent_version_id, kind, status, artifact_url,
                    artifact_sha256, artifact_size, preview_url, deployment_id)
                VALUES (\(versionID), \(project.id), \(target.id), 'rollback', \(skip ? "ready" : "syncing"),
                    \(target.artifactURL), \(target.artifactSHA256), \(target.artifactSize), \(target.previewURL),
                    \(target.deploymentID))
            ), project AS (
                UPDATE projects SET status = \(newStatus.rawValue), epoch = epoch + 1, current_version_id = \(versionID),
                    preview_url = \(previewURL), active_job_id = \(jobID), updated_at = now()
                WHERE id = \(project.id) AND epoch = \(project.epoch) AND status = ANY(\(settled))
                RETURNING epoch
            ), job AS (
                INSERT INTO jobs (id, project_id, version_id, target_version_id, host, state, epoch,
                    previous_version_id, previous_preview_url, previous_status, requested_by, trace_parent)
                SELECT \(jobID), \(project.id), \(versionID), \(target.id), \(project.host), 'queued', project.epoch,
                    \(project.currentVersionID), \(project.previewURL), \(project.status.rawValue), \(request.userId),
                    \(context.traceParent)
                FROM project WHERE \(!skip)
            ), event AS (
                INSERT INTO events (project_id, type, payload)
                SELECT \(project.id), 'rollbackStarted', \(String(decoding: event, as: UTF8.self))::jsonb FROM project
            ), audit AS (
                INSERT INTO audit_log (caller, actor, action, project_id, outcome, status_code, reason, details, request_id)
                SELECT \(context.caller), \(request.userId), \(skip ? "rollback.previewOnly" : "rollback"), \(project.id),
                    'accepted', 200, \(request.reason), \(String(decoding: auditDetails, as: UTF8.self))::jsonb,
                    \(context.requestID)
                FROM project
            ), idempotency AS (
                INSERT INTO idempotency_keys (caller, key, fingerprint, response_status, response_body, expires_at)
                SELECT \(context.caller), \(idempotency?.key), \(idempotency?.fingerprint), 200,
                    \(String(decoding: response.body, as: UTF8.self)),
                    now() + make_interval(secs => \(settings.idempotencyTTLSeconds))
                FROM project WHERE \(idempotency != nil)
                -- An expired row for the same key is replaced; a live one cannot exist (the
                -- request holds the key's advisory lock and looked).
                ON CONFLICT (caller, key) DO UPDATE SET fingerprint = excluded.fingerprint,
                    response_status = excluded.response_status, response_body = excluded.response_body,
                    created_at = now(), expires_at = excluded.expires_at
            )
            SELECT epoch FROM project
            """,
            logger: logger
        )
        var updated = false
        for try await _ in rows.decode(Int64.self) { updated = true }
        guard updated else { throw Self.busy(project.id, because: "another request changed it a moment ago") }
        return Committed(response: response, accepted: accepted, eventPayload: event)
    }

    private func checkedProject(_ request: RollbackRequest, _ found: ProjectRow?) throws -> ProjectRow {
        guard let project = found else {
            throw APIError(
                .notFound,
                "project_not_found",
                "project \(request.projectId) is not registered",
                details: ["projectId": request.projectId]
            )
        }
        guard project.userID == request.userId else {
            throw APIError(
                .forbidden,
                "project_not_owned",
                "project \(project.id) does not belong to user \(request.userId)",
                details: ["projectId": project.id]
            )
        }
        switch project.status {
        case .rollingBack:
            throw Self.busy(project.id, because: "it is rolling back now")
        case .queued, .building:
            throw APIError(
                .conflict,
                "build_in_progress",
                "project \(project.id) is \(project.status.rawValue); roll back once the build has finished",
                details: ["projectId": project.id, "status": project.status.rawValue]
            )
        default:
            return project
        }
    }

    private func checkedTarget(
        _ request: RollbackRequest,
        _ found: VersionRow?,
        skip: Bool
    ) throws -> VersionRow {
        let id = request.targetVersionId
        guard let target = found else {
            throw APIError(
                .notFound,
                "version_not_found",
                "version \(id) does not exist",
                details: ["targetVersionId": id]
            )
        }
        guard target.projectID == request.projectId else {
            throw APIError(
                .unprocessableContent,
                "version_not_in_project",
                "version \(id) belongs to another project, not to \(request.projectId)",
                details: ["targetVersionId": id, "projectId": request.projectId]
            )
        }
        guard target.status != .failed else {
            throw APIError(
                .unprocessableContent,
                "version_failed",
                "version \(id) is a failed rollback and cannot be a rollback target",
                details: ["targetVersionId": id]
            )
        }
        guard target.previewURL?.isEmpty == false else {
            throw APIError(
                .unprocessableContent,
                "version_missing_preview_url",
                "version \(id) has no preview URL, so the preview cannot switch to it",
                details: ["targetVersionId": id]
            )
        }
        if !skip {
            guard target.artifactURL?.isEmpty == false, target.artifactSHA256?.isEmpty == false else {
                throw APIError(
                    .unprocessableContent,
                    "version_missing_artifact",
                    "version \(id) has no artifact (URL and SHA-256), so its files cannot be restored; "
                        + "use skipWorkingDirectory to switch the preview only",
                    details: ["targetVersionId": id]
                )
            }
        }
        return target
    }

    static func busy(_ project: String, because why: String) -> APIError {
        APIError(
            .conflict,
            "rollback_in_progress",
            "a rollback of project \(project) is in progress (\(why)); wait for it to finish",
            details: ["projectId": project]
        )
    }

    /// Redis only holds what may be lost: a failure here is logged, never turned into an error
    /// for a rollback that has committed.
    private func afterCommit(_ accepted: RollbackAccepted, skip: Bool, event: [UInt8]?) async {
        var commands: [[String]] = [
            ["SET", keys.latestVersion(project: accepted.projectId), accepted.rollbackVersionId]
        ]
        if let event {
            commands.append([
                "PUBLISH", keys.events(project: accepted.projectId), String(decoding: event, as: UTF8.self),
            ])
        }
        do {
            _ = try await redis.commands(commands)
            // No job will end this lock: a preview-only rollback is over once committed.
            if skip { try await lock.release(project: accepted.projectId, epoch: accepted.epoch) }
        } catch {
            logger.warning(
                "redis update after commit failed; the lock expires by its TTL",
                metadata: ["project.id": "\(accepted.projectId)", "error": "\(error)"]
            )
        }
    }
}

/// The `rollbackStarted` event's payload.
struct RollbackStartedEvent: Codable, Sendable {
    var type: String
    var projectId: String
    var rollbackVersionId: String
    var targetVersionId: String
    var jobId: String?
    var epoch: Int64
    var previewUrl: String
    var skipWorkingDirectory: Bool
}
