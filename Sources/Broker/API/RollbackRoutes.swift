import Hummingbird
import Logging
import RollbackProtocol
import RollbackRuntime

extension BrokerAPI {
    /// `only` of a rollback or a preview: valid patterns, and never with skipWorkingDirectory
    /// (a selective rollback is all about the working directory).
    static func checkSelection(_ only: [String]?, skip: Bool?) throws {
        guard let only else { return }
        if let rule = PathSelection.check(only) { throw APIError.invalidField("only", rule) }
        if skip == true {
            throw APIError.invalidField("only", "cannot be combined with skipWorkingDirectory")
        }
    }

    /// `POST /v1/versions/rollback`.
    func rollback(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        let signed = try await authenticator.authenticate(request, context: context, action: "rollback")
        return try await audited(action: "rollback", signed: signed, context: context) {
            subject in
            var body = try RequestBody.decode(
                RollbackRequest.self,
                from: signed.body
            )
            body.userID = signed.principal.actor(claimed: body.userID)
            subject.actor = body.userID
            subject.projectID = body.projectID
            try FieldRules.id(body.userID, field: "userId")
            try FieldRules.projectID(body.projectID)
            try signed.principal.require(project: body.projectID)
            try FieldRules.id(body.targetVersionID, field: "targetVersionId")
            try FieldRules.text(body.reason, field: "reason", max: 500)
            try Self.checkSelection(body.only, skip: body.skipWorkingDirectory)
            var idempotency: Idempotency?
            if let key = signed.idempotencyKey {
                try Idempotency.validate(key: key)
                var canonical = body
                canonical.skipWorkingDirectory = body.skipWorkingDirectory ?? false
                idempotency = Idempotency(
                    caller: signed.principal.caller,
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
                    caller: signed.caller(context),
                    requestID: context.id,
                    idempotency: idempotency,
                    // The job carries this request's span (a child of the web tier's when it
                    // sent a traceparent), so the dispatch and the agent's spans join its trace.
                    traceParent: TracePropagation.current()?.traceparent ?? signed.traceParent
                )
            )
        }
    }

    /// `POST /v1/versions/rollback/preview`.
    func preview(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        let signed = try await authenticator.authenticate(
            request,
            context: context,
            action: "rollback.preview"
        )
        return try await audited(action: "rollback.preview", signed: signed, context: context) {
            subject in
            var body = try RequestBody.decode(
                RollbackPreviewRequest.self,
                from: signed.body
            )
            body.userID = signed.principal.actor(claimed: body.userID)
            subject.actor = body.userID
            subject.projectID = body.projectID
            try FieldRules.id(body.userID, field: "userId")
            try FieldRules.projectID(body.projectID)
            try signed.principal.require(project: body.projectID)
            try FieldRules.id(body.targetVersionID, field: "targetVersionId")
            try Self.checkSelection(body.only, skip: nil)
            if let limit = body.limit, !(0...PreviewService.maxLimit).contains(limit) {
                throw APIError.invalidField("limit", "must be 0–\(PreviewService.maxLimit), got \(limit)")
            }
            try await limitRate(user: body.userID)
            return APIResponse(
                json: try await previews.preview(body, caller: signed.caller(context))
            )
        }
    }

    /// `POST /v1/projects/{projectId}/rollback/cancel`.
    func cancelRollback(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        let signed = try await authenticator.authenticate(
            request,
            context: context,
            action: "rollback.cancel"
        )
        let projectID = try context.parameters.require("projectId")
        return try await audited(action: "rollback.cancel", signed: signed, context: context) {
            subject in
            var body = try RequestBody.decode(
                RollbackCancelRequest.self,
                from: signed.body
            )
            body.userID = signed.principal.actor(claimed: body.userID)
            subject.actor = body.userID
            subject.projectID = projectID
            try FieldRules.id(body.userID, field: "userId")
            try FieldRules.projectID(projectID)
            try FieldRules.text(body.reason, field: "reason", max: 500)
            try await limitRate(user: body.userID)
            return try await cancels.cancel(
                projectID: projectID,
                body,
                caller: signed.caller(context)
            )
        }
    }

    /// `POST /v1/versions/{versionId}/publish`.
    func publish(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        let signed = try await authenticator.authenticate(request, context: context, action: "publish")
        let versionID = try context.parameters.require("versionId")
        return try await audited(action: "publish", signed: signed, context: context) {
            subject in
            let body = try RequestBody.decode(PublishRequest.self, from: signed.body)
            subject.actor = body.userID
            try FieldRules.id(body.userID, field: "userId")
            try FieldRules.id(versionID, field: "versionId")
            try await limitRate(user: body.userID)
            let version = try await publishing.publish(
                versionID,
                user: body.userID,
                caller: signed.caller(context)
            )
            return APIResponse(json: version)
        }
    }
}
