import HTTPTypes
import Logging
import PostgresNIO
import RollbackProtocol

/// Admission for the build system: a settled project's build goes to the build sink now; a
/// rolling-back project's build is held in PostgreSQL until the rollback ends (released in
/// order on success, purged on failure); after a failed rollback builds are refused until
/// someone rolls back successfully.
struct BuildAdmissionService: Sendable {
    let database: Database
    let sink: any BuildSink
    let logger: Logger

    /// `payload` is the build's JSON as it goes to the sink.
    func admit(
        _ body: BuildRequest,
        payload: String?,
        caller: ProjectService.Caller
    ) async throws -> (admission: BuildAdmission, status: HTTPResponse.Status) {
        let logger = self.logger
        let sink = self.sink
        return try await database.transaction(stampedBy: caller.keyID) { connection in
            // FOR SHARE: a rollback's outcome (which updates the project) waits for this
            // transaction, so a build held here is always seen by the release or purge.
            guard
                let project = try await ProjectStore.find(
                    body.projectID,
                    lockForShare: true,
                    on: connection,
                    logger: logger
                )
            else {
                throw APIError(.notFound, "project_not_found", "project \(body.projectID) is not registered")
            }
            let admission: BuildAdmission
            let status: HTTPResponse.Status
            switch project.status {
            case .rollbackFailed:
                throw APIError(
                    .conflict,
                    "rollback_failed",
                    "the last rollback of project \(project.id) failed; roll back again successfully before building",
                    details: ["projectId": project.id]
                )
            case _ where project.status == .rollingBack || project.frozen != nil:
                try await HeldBuildStore.hold(
                    projectID: project.id,
                    buildID: body.buildID,
                    payload: payload,
                    epoch: project.epoch,
                    on: connection,
                    logger: logger
                )
                admission = BuildAdmission(
                    buildID: body.buildID,
                    projectID: project.id,
                    disposition: .held,
                    message: project.frozen.map {
                        "project \(project.id) is frozen by \($0.by ?? "-")\($0.reason.map { ": \($0)" } ?? ""); "
                            + "the build is held until it is unfrozen"
                    } ?? "a rollback is in progress; the build is held and released when it succeeds"
                )
                status = .accepted
            default:
                try await sink.submit(projectID: project.id, buildID: body.buildID, payload: payload)
                admission = BuildAdmission(
                    buildID: body.buildID,
                    projectID: project.id,
                    disposition: .accepted,
                    message: "handed to the build queue"
                )
                status = .ok
            }
            try await AuditEntry(
                caller: caller.name,
                keyID: caller.keyID,
                actor: nil,
                action: "build.admit",
                projectID: project.id,
                outcome: admission.disposition.rawValue,
                statusCode: Int(status.code),
                reason: nil,
                details: ["buildId": body.buildID],
                requestID: caller.requestID
            ).insert(on: connection, logger: logger)
            return (admission, status)
        }
    }
}
