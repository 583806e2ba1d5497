import Hummingbird
import Logging
import PostgresNIO
import RollbackProtocol

extension BrokerAPI {
    /// `POST /v1/builds`: admission for the build system. A settled project's build goes to the
    /// build sink now; a rolling-back project's build is held in PostgreSQL until the rollback
    /// ends (released in order on success, purged on failure); after a failed rollback builds
    /// are refused until someone rolls back successfully.
    func admitBuild(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        let signed = try await authenticator.authenticate(request, context: context, action: "build.admit")
        return try await audited(action: "build.admit", caller: signed.verified.caller, context: context) {
            subject in
            let body = try RequestBody.decode(
                BuildRequest.self,
                from: signed.body,
                fields: ["projectId", "buildId", "payload"]
            )
            subject.projectID = body.projectID
            try FieldRules.projectID(body.projectID)
            try FieldRules.id(body.buildID, field: "buildId")
            let payload = body.payload.map { String(decoding: BrokerJSON.encode($0), as: UTF8.self) }
            if let payload, payload.utf8.count > 16 * 1024 {
                throw APIError.invalidField("payload", "must be at most 16 KiB of JSON")
            }
            let logger = self.logger
            let caller = signed.verified.caller
            let requestID = context.id
            let sink = self.buildSink
            return try await database.transaction { connection in
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
                    throw APIError(
                        .notFound,
                        "project_not_found",
                        "project \(body.projectID) is not registered"
                    )
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
                case .rollingBack:
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
                        message: "a rollback is in progress; the build is held and released when it succeeds"
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
                    caller: caller,
                    actor: nil,
                    action: "build.admit",
                    projectID: project.id,
                    outcome: admission.disposition.rawValue,
                    statusCode: Int(status.code),
                    reason: nil,
                    details: ["buildId": body.buildID],
                    requestID: requestID
                ).insert(on: connection, logger: logger)
                return APIResponse(status: status, json: admission)
            }
        }
    }
}
