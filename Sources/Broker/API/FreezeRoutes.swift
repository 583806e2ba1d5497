import Hummingbird
import RollbackProtocol

extension BrokerAPI {
    /// `POST /v1/projects/{projectId}/freeze`.
    func freeze(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        try await projectAction(
            request,
            context,
            action: "freeze",
            FreezeRequest.self
        ) { projectID, body, caller in
            try FieldRules.text(body.reason, field: "reason", max: 500)
            if body.reason.trimmingCharacters(in: .whitespaces).isEmpty {
                throw APIError.invalidField("reason", "must say why the project is frozen")
            }
            return APIResponse(json: try await freezes.freeze(projectID, body, caller: caller))
        }
    }

    /// `POST /v1/projects/{projectId}/unfreeze`.
    func unfreeze(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        try await projectAction(
            request,
            context,
            action: "unfreeze",
            UnfreezeRequest.self
        ) { projectID, body, caller in
            try FieldRules.text(body.reason, field: "reason", max: 500)
            return APIResponse(json: try await freezes.unfreeze(projectID, body, caller: caller))
        }
    }

    /// `POST /v1/projects/{projectId}/settings`.
    func projectSettings(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        try await projectAction(
            request,
            context,
            action: "settings",
            ProjectSettingsRequest.self
        ) { projectID, body, caller in
            APIResponse(json: try await freezes.settings(projectID, body, caller: caller))
        }
    }

    /// A signed request that a user (`userId` in the body) makes on the project in the path:
    /// authenticated, audited when refused, the path's project id and the body's user checked
    /// by the wire rules before `handle` sees them.
    private func projectAction<Body: APIRequestBody & UserActing>(
        _ request: Request,
        _ context: BasicRequestContext,
        action: String,
        _ type: Body.Type,
        _ handle: (String, Body, ProjectService.Caller) async throws -> APIResponse
    ) async throws -> APIResponse {
        let signed = try await authenticator.authenticate(request, context: context, action: action)
        let projectID = try context.parameters.require("projectId")
        return try await audited(action: action, signed: signed, context: context) {
            subject in
            subject.projectID = projectID
            try FieldRules.projectID(projectID)
            var body = try RequestBody.decode(type, from: signed.body)
            body.userID = signed.principal.actor(claimed: body.userID)
            subject.actor = body.userID
            try FieldRules.id(body.userID, field: "userId")
            return try await handle(
                projectID,
                body,
                signed.caller(context)
            )
        }
    }
}

/// A request body that names the user it acts for.
protocol UserActing {
    var userID: String { get set }
}

extension FreezeRequest: UserActing {}
extension UnfreezeRequest: UserActing {}
extension ProjectSettingsRequest: UserActing {}
