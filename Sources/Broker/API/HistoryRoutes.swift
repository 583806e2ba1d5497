import Hummingbird
import RollbackProtocol

extension BrokerAPI {
    /// `GET /v1/projects/{projectId}/history`: newest first, cursor-paginated.
    func history(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        _ = try await authenticator.authenticate(request, context: context, action: "history.read")
        let projectID = try context.parameters.require("projectId")
        try FieldRules.projectID(projectID)
        let query = QueryRules(request: request)
        let page = try await histories.history(
            of: projectID,
            cursor: try query.cursor(),
            limit: try query.limit(default: HistoryService.defaultLimit, max: HistoryService.maxLimit)
        )
        return APIResponse(json: page)
    }

    /// `GET /v1/projects/{projectId}/versions/previous`: what `previous` resolves to now.
    func previousVersion(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        _ = try await authenticator.authenticate(request, context: context, action: "versions.read")
        let projectID = try context.parameters.require("projectId")
        try FieldRules.projectID(projectID)
        let skip = try QueryRules(request: request).bool("skipWorkingDirectory") ?? false
        return APIResponse(json: try await histories.previous(of: projectID, skipWorkingDirectory: skip))
    }

    /// `GET /v1/audit`: the audit log, newest first, filtered by project, actor and time.
    func auditLog(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        let signed = try await authenticator.authenticate(request, context: context, action: "audit.read")
        let query = QueryRules(request: request)
        let filter = AuditLog.Filter(
            projectID: query.string("project"),
            actor: query.string("actor"),
            since: try query.date("since"),
            projectLikePatterns: signed.principal.projectLikePatterns
        )
        if let project = filter.projectID { try FieldRules.projectID(project, field: "project") }
        if let actor = filter.actor { try FieldRules.id(actor, field: "actor") }
        let page = try await histories.audit(
            filter,
            cursor: try query.cursor(),
            limit: try query.limit(default: HistoryService.defaultLimit, max: HistoryService.maxLimit)
        )
        return APIResponse(json: page)
    }
}
