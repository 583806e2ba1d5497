import Foundation
import Hummingbird
import RollbackProtocol

extension BrokerAPI {
    /// `POST /v1/webhooks` (admin): a subscription; the answer holds its secret, once.
    func createWebhook(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        try await webhookAction(request, context, action: "webhook.create") { signed in
            let body = try RequestBody.decode(
                CreateWebhookRequest.self,
                from: signed.body
            )
            return APIResponse(
                status: .created,
                json: try await webhooks.create(body, caller: signed.caller(context))
            )
        }
    }

    /// `GET /v1/webhooks` (admin).
    func listWebhooks(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        try await webhookAction(request, context, action: "webhook.read") { _ in
            APIResponse(json: try await webhooks.list())
        }
    }

    /// `GET /v1/webhooks/{webhookId}` (admin).
    func webhook(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        try await webhookAction(request, context, action: "webhook.read") { _ in
            APIResponse(json: try await webhooks.get(try Self.webhookID(context)))
        }
    }

    /// `DELETE /v1/webhooks/{webhookId}` (admin): answers the subscription as it was.
    func deleteWebhook(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        try await webhookAction(request, context, action: "webhook.delete") { signed in
            APIResponse(
                json: try await webhooks.delete(try Self.webhookID(context), caller: signed.caller(context))
            )
        }
    }

    /// `POST /v1/webhooks/{webhookId}/enable` and `…/disable` (admin).
    func enableWebhook(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        try await setWebhookEnabled(request, context, true)
    }

    func disableWebhook(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        try await setWebhookEnabled(request, context, false)
    }

    private func setWebhookEnabled(
        _ request: Request,
        _ context: BasicRequestContext,
        _ enabled: Bool
    ) async throws -> APIResponse {
        try await webhookAction(request, context, action: enabled ? "webhook.enable" : "webhook.disable") {
            signed in
            APIResponse(
                json: try await webhooks.setEnabled(
                    try Self.webhookID(context),
                    enabled,
                    caller: signed.caller(context)
                )
            )
        }
    }

    /// `GET /v1/webhooks/{webhookId}/deliveries` (admin): the delivery log, newest first.
    func webhookDeliveries(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        try await webhookAction(request, context, action: "webhook.read") { _ in
            let query = QueryRules(request: request)
            return APIResponse(
                json: try await webhooks.deliveries(
                    of: try Self.webhookID(context),
                    cursor: try query.cursor(),
                    limit: try query.limit(default: WebhookService.defaultLimit, max: WebhookService.maxLimit)
                )
            )
        }
    }

    /// Authenticated (admin), audited when refused, and refused for a key limited to some
    /// projects: a subscription may see every project's events.
    private func webhookAction(
        _ request: Request,
        _ context: BasicRequestContext,
        action: String,
        _ handle: (SignedRequest) async throws -> APIResponse
    ) async throws -> APIResponse {
        let signed = try await authenticator.authenticate(request, context: context, action: action)
        return try await audited(action: action, signed: signed, context: context) { _ in
            if signed.principal.projectLikePatterns != nil {
                throw APIError(
                    .forbidden,
                    "project_not_permitted",
                    "webhooks may carry any project's events; \(action) needs an admin key without project limits",
                    details: ["keyId": signed.principal.keyID]
                )
            }
            return try await handle(signed)
        }
    }

    private static func webhookID(_ context: BasicRequestContext) throws -> UUID {
        let text = try context.parameters.require("webhookId")
        guard let id = UUID(uuidString: text) else {
            throw APIError.invalidField("webhookId", "must be a UUID, got \"\(text.prefix(64))\"")
        }
        return id
    }
}
