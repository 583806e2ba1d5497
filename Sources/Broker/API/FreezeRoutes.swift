import Hummingbird
import RollbackProtocol

extension BrokerAPI {
    /// `POST /v1/projects/{projectId}/freeze`.
    func freeze(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        let signed = try await authenticator.authenticate(request, context: context, action: "freeze")
        let projectID = try context.parameters.require("projectId")
        return try await audited(action: "freeze", caller: signed.verified.caller, context: context) {
            subject in
            subject.projectID = projectID
            try FieldRules.projectID(projectID)
            let body = try RequestBody.decode(
                FreezeRequest.self,
                from: signed.body,
                fields: ["userId", "reason"]
            )
            subject.actor = body.userID
            try FieldRules.id(body.userID, field: "userId")
            try FieldRules.text(body.reason, field: "reason", max: 500)
            if body.reason.trimmingCharacters(in: .whitespaces).isEmpty {
                throw APIError.invalidField("reason", "must say why the project is frozen")
            }
            let view = try await freezes.freeze(projectID, body, caller: .init(signed, context))
            return APIResponse(json: view)
        }
    }

    /// `POST /v1/projects/{projectId}/unfreeze`.
    func unfreeze(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        let signed = try await authenticator.authenticate(request, context: context, action: "unfreeze")
        let projectID = try context.parameters.require("projectId")
        return try await audited(action: "unfreeze", caller: signed.verified.caller, context: context) {
            subject in
            subject.projectID = projectID
            try FieldRules.projectID(projectID)
            let body = try RequestBody.decode(
                UnfreezeRequest.self,
                from: signed.body,
                fields: ["userId", "reason", "discard"]
            )
            subject.actor = body.userID
            try FieldRules.id(body.userID, field: "userId")
            try FieldRules.text(body.reason, field: "reason", max: 500)
            let result = try await freezes.unfreeze(projectID, body, caller: .init(signed, context))
            return APIResponse(json: result)
        }
    }

    /// `POST /v1/projects/{projectId}/settings`.
    func projectSettings(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        let signed = try await authenticator.authenticate(request, context: context, action: "settings")
        let projectID = try context.parameters.require("projectId")
        return try await audited(action: "settings", caller: signed.verified.caller, context: context) {
            subject in
            subject.projectID = projectID
            try FieldRules.projectID(projectID)
            let body = try RequestBody.decode(
                ProjectSettingsRequest.self,
                from: signed.body,
                fields: ["userId", "freezeAfterRollback"]
            )
            subject.actor = body.userID
            try FieldRules.id(body.userID, field: "userId")
            return APIResponse(
                json: try await freezes.settings(projectID, body, caller: .init(signed, context))
            )
        }
    }
}

extension ProjectService.Caller {
    init(_ signed: SignedRequest, _ context: BasicRequestContext) {
        self.init(keyID: signed.verified.caller, requestID: context.id)
    }
}
