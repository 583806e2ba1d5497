import Foundation
import HTTPTypes
import Logging
import PostgresNIO
import RollbackProtocol

/// Steps 1–3 of a rollback (see `ARCHITECTURE.md` and `spec/http-api.md`): one read, the Redis
/// lock, one write call that records everything in one implicit transaction, then the answer.
struct RollbackService: Sendable {
    let database: Database
    let lock: ProjectLock
    let redis: RedisClient
    let keys: RedisKeys
    let settings: BrokerSettings
    let logger: Logger

    /// What the route knows about the request besides its body.
    struct Context: Sendable {
        var caller: ProjectService.Caller
        var requestID: String
        var idempotency: Idempotency?
        var traceParent: String?
    }

    func rollback(_ request: RollbackRequest, context: Context) async throws -> APIResponse {
        let skip = request.skipWorkingDirectory ?? false
        var requestLogger = self.logger
        // Setting metadata re-renders the handler's whole metadata; worth it only when the
        // statements below are logged (PostgresNIO logs them at debug and trace).
        if requestLogger.logLevel <= .debug {
            requestLogger[metadataKey: "project.id"] = "\(request.projectID)"
            requestLogger[metadataKey: "request.id"] = "\(context.requestID)"
        }
        let logger = requestLogger

        // One pooled connection for the read and the write (each its own implicit transaction):
        // a second lease per request was a measurable share of the broker's CPU.
        let outcome = try await database.connection { connection in
            try await readLockAndRecord(request, skip: skip, context: context, on: connection, logger: logger)
        }
        let accepted: RollbackAccepted
        let response: APIResponse
        let event: [UInt8]
        switch outcome {
        case .accepted(let written, let answer, let payload):
            (accepted, response, event) = (written, answer, payload)
        case .storedAnswer(let stored):
            return try await replay(
                stored,
                idempotency: context.idempotency!,
                request: request,
                context: context
            )
        case .refused(let error):
            throw error
        }
        await afterCommit(accepted, skip: skip, event: event)
        return response
    }

    /// How old a lock that holds a newer epoch than the settled project's must be to count as
    /// abandoned: every attempt writes within its request's database deadline, so twice that
    /// (at least 10 s) leaves a wide margin.
    private var abandonedLockSeconds: Int {
        max(10, Int((database.timeout * 2) / .seconds(1)) + 1)
    }

    /// What the read, the lock and the write came to.
    private enum Attempt: Sendable {
        case accepted(RollbackAccepted, APIResponse, event: [UInt8])
        /// The answer stored for the request's Idempotency-Key: replay it (or 422).
        case storedAnswer(RollbackRead.Stored)
        case refused(APIError)
    }

    /// Steps 1–3 on one connection: the read, the Redis lock, the write. The lock is released
    /// again whenever the write did not record the rollback.
    private func readLockAndRecord(
        _ request: RollbackRequest,
        skip: Bool,
        context: Context,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Attempt {
        // 1. One read: the project, the target version, and an answer stored for the key.
        let read = try await RollbackRead.load(
            request,
            idempotency: context.idempotency,
            on: connection,
            logger: logger
        )
        if let stored = read.stored, context.idempotency != nil { return .storedAnswer(stored) }
        let project = try Self.checkedProject(request, read.project, caller: context.caller)
        let target = try Self.checkedTarget(request, read.target, skip: skip)

        // 2. The fast guard, before any write: its value is the epoch the write will produce, and
        // the write's compare-and-set refuses if anyone moved the epoch meanwhile.
        let newEpoch = project.epoch + 1
        let claim = context.idempotency.map { keys.idempotencyClaim($0.lockID) }
        let acquisition: ProjectLock.ClaimedAcquisition
        do {
            if let claim {
                // A retry of a request still in flight must be told so, not that the project is
                // busy: the claim is taken with the lock, in one round trip.
                acquisition = try await lock.acquireOrReplaceStale(
                    project: project.id,
                    epoch: newEpoch,
                    settledEpoch: project.epoch,
                    ttlSeconds: settings.lockTTLSeconds,
                    abandonedAfterSeconds: abandonedLockSeconds,
                    claimKey: claim,
                    owner: context.requestID,
                    claimTTLMilliseconds: abandonedLockSeconds * 1000
                )
            } else {
                acquisition =
                    try await lock.acquireOrReplaceStale(
                        project: project.id,
                        epoch: newEpoch,
                        settledEpoch: project.epoch,
                        ttlSeconds: settings.lockTTLSeconds,
                        abandonedAfterSeconds: abandonedLockSeconds
                    ) ? .acquired : .lockHeld
            }
        } catch {
            throw APIError.redisUnavailable("\(error)")
        }
        switch acquisition {
        case .acquired: break
        case .lockHeld: throw Self.busy(project.id, because: "its rollback lock is held")
        case .claimHeld:
            // The first request may have committed since our read: then its answer is ours.
            let again = try await RollbackRead.load(
                request,
                idempotency: context.idempotency,
                on: connection,
                logger: logger
            )
            if let stored = again.stored { return .storedAnswer(stored) }
            throw Idempotency.inFlight(context.idempotency!.key)
        }
        let releaseClaim = { [lock] in
            if let claim { try? await lock.releaseClaim(claim, owner: context.requestID) }
        }

        // 3. The write: one call, one implicit transaction.
        let attempt: Attempt
        do {
            attempt = try await record(
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
            _ = try? await lock.release(project: project.id, epoch: newEpoch)
            await releaseClaim()
            throw error
        }
        // An accepted request keeps its claim until it expires: a retry finds the stored answer
        // with its read, before it looks at the claim.
        if case .accepted = attempt { return attempt }
        _ = try? await lock.release(project: project.id, epoch: newEpoch)
        await releaseClaim()
        return attempt
    }

    /// Answers with the stored answer of an earlier request with the same key (422 if that
    /// request was a different one), and audits the replay.
    private func replay(
        _ stored: RollbackRead.Stored,
        idempotency: Idempotency,
        request: RollbackRequest,
        context: Context
    ) async throws -> APIResponse {
        guard stored.fingerprint == idempotency.fingerprint else { throw Idempotency.reused(idempotency.key) }
        let logger = self.logger
        let entry = AuditEntry(
            caller: context.caller.name,
            keyID: context.caller.keyID,
            actor: request.userID,
            action: "rollback",
            projectID: request.projectID,
            outcome: "replayed",
            statusCode: stored.status,
            reason: nil,
            details: ["idempotencyKey": idempotency.key],
            requestID: context.requestID
        )
        try await database.connection { connection in try await entry.insert(on: connection, logger: logger) }
        return APIResponse(
            status: HTTPResponse.Status(code: stored.status),
            body: Array(stored.body.utf8),
            headers: [(.init("Idempotent-Replayed")!, "true")]
        )
    }

    /// Writes the whole rollback with one call of `rollback_record`: the key's claim, the
    /// version, the project's compare-and-set, the job, the event, the audit row and the stored
    /// answer. Every insert hangs off the compare-and-set's row, so a lost race writes nothing.
    private func record(
        _ request: RollbackRequest,
        skip: Bool,
        project: ProjectRow,
        target: VersionRow,
        newEpoch: Int64,
        context: Context,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Attempt {
        let versionID = UUID().uuidString.lowercased()
        let jobID = skip ? nil : UUID().uuidString.lowercased()
        // A selective rollback leaves the preview where it is: no built artifact of the mix
        // exists (a build of it is requested when the job succeeds).
        let previewURL = request.only == nil ? target.previewURL ?? "" : project.previewURL ?? ""
        let newStatus = skip ? project.status : .rollingBack
        let accepted = RollbackAccepted(
            rollbackVersionID: versionID,
            targetVersionID: target.id,
            projectID: project.id,
            previewURL: previewURL,
            status: newStatus,
            jobID: jobID,
            epoch: newEpoch,
            publishURL: "/v1/versions/\(versionID)/publish"
        )
        let response = APIResponse(json: accepted)
        let event = RollbackStartedEvent(
            projectID: project.id,
            rollbackVersionID: versionID,
            targetVersionID: target.id,
            jobID: jobID,
            epoch: newEpoch,
            previewURL: previewURL,
            skipWorkingDirectory: skip
        )
        let arguments = RollbackRecord.Arguments(
            caller: context.caller.name,
            key: context.idempotency?.key,
            fingerprint: context.idempotency?.fingerprint,
            lockID: context.idempotency.map { String($0.lockID) },
            versionID: versionID,
            projectID: project.id,
            targetVersionID: target.id,
            versionStatus: skip ? "ready" : "syncing",
            artifactURL: target.artifactURL,
            artifactSHA256: target.artifactSHA256,
            artifactSize: target.artifactSize,
            previewURL: previewURL,
            deploymentID: target.deploymentID,
            only: request.only,
            newStatus: newStatus.rawValue,
            expectedEpoch: project.epoch,
            settled: ProjectStatus.allCases.filter(\.isSettled).map(\.rawValue),
            jobID: jobID,
            host: project.host,
            previousVersionID: project.currentVersionID,
            previousPreviewURL: project.previewURL,
            previousStatus: project.status.rawValue,
            userID: request.userID,
            traceParent: context.traceParent,
            event: event,
            auditAction: skip ? "rollback.previewOnly" : "rollback",
            reason: request.reason,
            auditDetails: [
                "targetVersionId": target.id, "rollbackVersionId": versionID, "epoch": String(newEpoch),
                "jobId": jobID ?? "", "only": request.only?.joined(separator: " ") ?? "",
            ],
            requestID: context.requestID,
            response: String(decoding: response.body, as: UTF8.self),
            ttlSeconds: settings.idempotencyTTLSeconds
        )
        let row = try await RollbackRecord.write(
            arguments,
            keyID: context.caller.keyID,
            on: connection,
            logger: logger
        )
        let key = context.idempotency?.key ?? ""
        let busy = Attempt.refused(Self.busy(project.id, because: "another request changed it a moment ago"))
        guard let row else { return busy }
        switch row.outcome {
        case "accepted": return .accepted(accepted, response, event: BrokerJSON.encode(event))
        case "in_flight": return .refused(Idempotency.inFlight(key))
        case "reused": return .refused(Idempotency.reused(key))
        case "replay":
            let stored = RollbackRead.Stored(
                fingerprint: context.idempotency?.fingerprint ?? "",
                status: row.storedStatus ?? 200,
                body: row.storedBody ?? ""
            )
            return .storedAnswer(stored)
        default: return busy
        }
    }

    static func checkedProject(
        _ request: RollbackRequest,
        _ found: ProjectRow?,
        caller: ProjectService.Caller
    ) throws -> ProjectRow {
        guard let project = found else { throw APIError.projectNotFound(request.projectID) }
        try caller.checkOwner(of: project.id, owner: project.userID, claimedUser: request.userID)
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

    static func checkedTarget(
        _ request: RollbackRequest,
        _ found: VersionRow?,
        skip: Bool
    ) throws -> VersionRow {
        let id = request.targetVersionID
        if found == nil && id == RollbackRequest.previous {
            throw Self.noPreviousVersion(request.projectID, skip: skip)
        }
        guard let target = found else {
            throw APIError(
                .notFound,
                "version_not_found",
                "version \(id) does not exist",
                details: ["targetVersionId": id]
            )
        }
        guard target.projectID == request.projectID else {
            throw APIError(
                .unprocessableContent,
                "version_not_in_project",
                "version \(id) belongs to another project, not to \(request.projectID)",
                details: ["targetVersionId": id, "projectId": request.projectID]
            )
        }
        guard target.status != .failed, target.status != .canceled else {
            throw APIError(
                .unprocessableContent,
                "version_failed",
                "version \(id) is a \(target.status == .failed ? "failed" : "canceled") rollback and cannot be a rollback target",
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
            // The agent refuses an artifact without a URL, a digest or a positive size: refuse it
            // here, before the preview switches (rows registered before the rule may lack one).
            guard target.artifactURL?.isEmpty == false, target.artifactSHA256?.isEmpty == false,
                (target.artifactSize ?? 0) > 0
            else {
                throw APIError(
                    .unprocessableContent,
                    "version_missing_artifact",
                    "version \(id) has no complete artifact (URL, SHA-256 and size), so its files cannot be restored; "
                        + "use skipWorkingDirectory to switch the preview only",
                    details: ["targetVersionId": id]
                )
            }
        }
        return target
    }

    static func noPreviousVersion(_ project: String, skip: Bool) -> APIError {
        APIError(
            .unprocessableContent,
            "no_previous_version",
            "project \(project) has no earlier version that can be a rollback target "
                + "(ready, with a preview URL\(skip ? "" : " and a complete artifact")); name a version instead",
            details: ["projectId": project, "targetVersionId": RollbackRequest.previous]
        )
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
    private func afterCommit(_ accepted: RollbackAccepted, skip: Bool, event: [UInt8]) async {
        let commands: [[String]] = [
            ["SET", keys.latestVersion(project: accepted.projectID), accepted.rollbackVersionID],
            ["PUBLISH", keys.events(project: accepted.projectID), String(decoding: event, as: UTF8.self)],
        ]
        do {
            _ = try await redis.commands(commands)
            // No job will end this lock: a preview-only rollback is over once committed.
            if skip { try await lock.release(project: accepted.projectID, epoch: accepted.epoch) }
        } catch {
            logger.warning(
                "redis update after commit failed; the lock expires by its TTL",
                metadata: ["project.id": "\(accepted.projectID)", "error": "\(error)"]
            )
        }
    }
}
