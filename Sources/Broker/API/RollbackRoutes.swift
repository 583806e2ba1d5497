import Hummingbird
import Logging
import PostgresNIO
import RollbackProtocol
import RollbackRuntime

extension BrokerAPI {
    static let rollbackFields: Set<String> = [
        "userId", "projectId", "targetVersionId", "skipWorkingDirectory", "reason",
    ]

    /// `POST /v1/versions/rollback`.
    func rollback(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        let signed = try await authenticator.authenticate(request, context: context, action: "rollback")
        return try await audited(action: "rollback", caller: signed.verified.caller, context: context) {
            subject in
            let body = try RequestBody.decode(
                RollbackRequest.self,
                from: signed.body,
                fields: Self.rollbackFields
            )
            subject.actor = body.userID
            subject.projectID = body.projectID
            try FieldRules.id(body.userID, field: "userId")
            try FieldRules.projectID(body.projectID)
            try FieldRules.id(body.targetVersionID, field: "targetVersionId")
            try FieldRules.text(body.reason, field: "reason", max: 500)
            var idempotency: Idempotency?
            if let key = signed.idempotencyKey {
                try Idempotency.validate(key: key)
                var canonical = body
                canonical.skipWorkingDirectory = body.skipWorkingDirectory ?? false
                idempotency = Idempotency(
                    caller: signed.verified.caller,
                    key: key,
                    fingerprint: Idempotency.fingerprint(
                        path: "/v1/versions/rollback",
                        canonicalBody: BrokerJSON.encode(canonical)
                    )
                )
            }
            try await limitRate(user: body.userID)
            return try await rollbacks.rollback(
                body,
                context: RollbackService.Context(
                    caller: signed.verified.caller,
                    requestID: context.id,
                    idempotency: idempotency,
                    // The job carries this request's span (a child of the web tier's when it
                    // sent a traceparent), so the dispatch and the agent's spans join its trace.
                    traceParent: TracePropagation.current()?.traceparent ?? signed.traceParent
                )
            )
        }
    }

    /// `POST /v1/versions/{versionId}/publish`.
    func publish(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        let signed = try await authenticator.authenticate(request, context: context, action: "publish")
        let versionID = try context.parameters.require("versionId")
        return try await audited(action: "publish", caller: signed.verified.caller, context: context) {
            subject in
            let body = try RequestBody.decode(PublishRequest.self, from: signed.body, fields: ["userId"])
            subject.actor = body.userID
            try FieldRules.id(body.userID, field: "userId")
            try FieldRules.id(versionID, field: "versionId")
            try await limitRate(user: body.userID)
            let logger = self.logger
            let caller = signed.verified.caller
            let requestID = context.id
            return try await database.transaction { connection in
                guard
                    let version = try await VersionStore.find(
                        versionID,
                        forUpdate: true,
                        on: connection,
                        logger: logger
                    )
                else {
                    throw APIError(.notFound, "version_not_found", "version \(versionID) does not exist")
                }
                guard
                    let project = try await ProjectStore.find(
                        version.projectID,
                        on: connection,
                        logger: logger
                    ),
                    project.userID == body.userID
                else {
                    throw APIError(
                        .forbidden,
                        "project_not_owned",
                        "version \(versionID) belongs to a project of another user"
                    )
                }
                switch version.status {
                case .failed:
                    throw APIError(
                        .conflict,
                        "version_failed",
                        "version \(versionID) failed and cannot be published"
                    )
                case .syncing:
                    throw APIError(
                        .conflict,
                        "version_syncing",
                        "version \(versionID) is still being synced to the build host; publish it once its job has succeeded"
                    )
                case .ready:
                    break
                }
                if !version.published {
                    try await VersionStore.publish(versionID, on: connection, logger: logger)
                    try await AuditEntry(
                        caller: caller,
                        actor: body.userID,
                        action: "publish",
                        projectID: project.id,
                        outcome: "accepted",
                        statusCode: 200,
                        reason: nil,
                        details: ["versionId": versionID],
                        requestID: requestID
                    ).insert(on: connection, logger: logger)
                }
                guard let published = try await VersionStore.find(versionID, on: connection, logger: logger)
                else {
                    throw APIError(.notFound, "version_not_found", "version \(versionID) does not exist")
                }
                return APIResponse(json: published.view)
            }
        }
    }
}
