import Foundation
import Logging
import RollbackClient
import RollbackProtocol
import RollbackRuntime

/// `POST /v1/versions/rollback/preview`: the same checks as a rollback (project, owner, status,
/// target, `previous`), then a dry run on the host's agent. Changes nothing: no epoch, no lock,
/// no job, no version; only an audit row of the preview (see `spec/http-api.md`).
struct PreviewService: Sendable {
    let database: Database
    let agents: AgentReach
    let audit: AuditLog
    let logger: Logger

    static let defaultLimit = 100
    static let maxLimit = 1000

    func preview(
        _ request: RollbackPreviewRequest,
        caller: ProjectService.Caller
    ) async throws -> RollbackPreview {
        let logger = self.logger
        let asRollback = RollbackRequest(
            userID: request.userID,
            projectID: request.projectID,
            targetVersionID: request.targetVersionID
        )
        let read = try await database.connection { connection in
            try await RollbackRead.load(asRollback, idempotency: nil, on: connection, logger: logger)
        }
        let project = try RollbackService.checkedProject(asRollback, read.project, caller: caller)
        let target = try RollbackService.checkedTarget(asRollback, read.target, skip: false)
        let client = try agents.client(forHost: project.host)
        let limit = request.limit ?? Self.defaultLimit
        let params = WorkdirSync.Params(
            jobID: "preview-\(UUID().uuidString.lowercased())",
            projectID: project.id,
            rollbackVersionID: "preview",
            targetVersionID: target.id,
            artifact: WorkdirSync.Artifact(
                url: target.artifactURL ?? "",
                sha256: target.artifactSHA256 ?? "",
                sizeBytes: target.artifactSize ?? 0
            ),
            epoch: project.epoch,
            dryRun: true,
            diffLimit: limit,
            only: request.only
        )
        let result: WorkdirSync.Result
        do {
            result = try await client.withSession { session in
                try await session.sync(params, trace: TracePropagation.current())
            }
        } catch let error as RPCError {
            throw Self.refusal(error, project: project.id, host: project.host)
        } catch {
            throw AgentReach.unreachable(project.host, error)
        }
        let files = result.files
        let diff = result.diff ?? [:]
        let cached = result.artifactCached ?? false
        let preview = RollbackPreview(
            projectID: project.id,
            targetVersionID: target.id,
            currentVersionID: project.currentVersionID,
            counts: .init(
                added: files.added,
                changed: files.changed,
                removed: files.removed,
                unchanged: files.unchanged
            ),
            added: diff["added"] ?? [],
            changed: diff["changed"] ?? [],
            removed: diff["removed"] ?? [],
            truncated: max(files.added, files.changed, files.removed) > limit,
            limit: limit,
            bytesToWrite: result.bytesWritten,
            bytesToDownload: cached ? 0 : target.artifactSize ?? 0,
            artifactCached: cached
        )
        await audit.record(
            AuditEntry(
                caller: caller.name,
                keyID: caller.keyID,
                actor: request.userID,
                action: "rollback.preview",
                projectID: project.id,
                outcome: "ok",
                statusCode: 200,
                reason: nil,
                details: [
                    "targetVersionId": target.id,
                    "added": "\(files.added)", "changed": "\(files.changed)", "removed": "\(files.removed)",
                ],
                requestID: caller.requestID
            )
        )
        return preview
    }

    /// The agent's refusal in the API's terms: a bad archive is the target's problem (422), a
    /// busy project a conflict (409), anything else the agent's (503).
    static func refusal(_ error: RPCError, project: String, host: String) -> APIError {
        var details = error.details
        details["host"] = host
        switch error.code {
        case .artifactRejected, .notFound:
            return APIError(
                .unprocessableContent,
                "artifact_rejected",
                "the agent cannot use the target's artifact: \(error.message)",
                details: details
            )
        case .busy:
            return APIError(
                .conflict,
                "rollback_in_progress",
                "the agent of host \(host) is syncing project \(project) now; preview once it has finished",
                details: details
            )
        default:
            return APIError(
                .serviceUnavailable,
                "agent_unavailable",
                "the agent of host \(host) could not compute the preview: \(error.message)",
                details: details
            )
        }
    }
}
