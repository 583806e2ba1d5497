import Foundation
import Hummingbird
import Logging
import RollbackProtocol

extension BrokerAPI {
    /// `POST /v1/projects`: registers a project and its build host. Registering it again with the
    /// same owner and host answers the same; anything else is a conflict.
    func registerProject(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        let signed = try await authenticator.authenticate(
            request,
            context: context,
            action: "project.register"
        )
        return try await audited(action: "project.register", signed: signed, context: context) {
            subject in
            let body = try RequestBody.decode(
                RegisterProjectRequest.self,
                from: signed.body
            )
            subject.actor = body.userID
            subject.projectID = body.projectID
            try FieldRules.projectID(body.projectID)
            try FieldRules.id(body.userID, field: "userId")
            try FieldRules.id(body.host, field: "host")
            let (project, created) = try await projects.register(
                body,
                caller: signed.caller(context)
            )
            return APIResponse(status: created ? .created : .ok, json: project)
        }
    }

    /// `POST /v1/projects/{projectId}/versions`: registers a built version, by default as the
    /// project's deployed current version.
    func registerVersion(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        let signed = try await authenticator.authenticate(
            request,
            context: context,
            action: "version.register"
        )
        let projectID = try context.parameters.require("projectId")
        return try await audited(action: "version.register", signed: signed, context: context) {
            subject in
            subject.projectID = projectID
            try FieldRules.projectID(projectID)
            let body = try RequestBody.decode(
                RegisterVersionRequest.self,
                from: signed.body
            )
            try FieldRules.id(body.versionID, field: "versionId")
            if body.versionID == RollbackRequest.previous {
                throw APIError.invalidField(
                    "versionId",
                    "\"previous\" is reserved: as a rollback target it means the version before the current one"
                )
            }
            try FieldRules.artifactURL(body.artifactURL, field: "artifactUrl")
            try FieldRules.sha256(body.artifactSHA256, field: "artifactSha256")
            try FieldRules.size(body.artifactSize, field: "artifactSize")
            try FieldRules.url(body.previewURL, field: "previewUrl")
            try FieldRules.text(body.deploymentID, field: "deploymentId", max: 256)
            // An artifact is its URL, digest and size together: the agent needs all three.
            let artifactFields = [
                body.artifactURL != nil, body.artifactSHA256 != nil, body.artifactSize != nil,
            ]
            if artifactFields.contains(true) && artifactFields.contains(false) {
                let missing = zip(["artifactUrl", "artifactSha256", "artifactSize"], artifactFields)
                    .first { !$0.1 }!.0
                throw APIError.invalidField(
                    missing,
                    "artifactUrl, artifactSha256 and artifactSize come together: give all three or none"
                )
            }
            let (version, created) = try await projects.registerVersion(
                body,
                projectID: projectID,
                caller: signed.caller(context)
            )
            return APIResponse(status: created ? .created : .ok, json: version)
        }
    }

    /// `GET /v1/projects?user=&cursor=&limit=`: projects in id order.
    func projects(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        let signed = try await authenticator.authenticate(request, context: context, action: "projects.read")
        let query = QueryRules(request: request)
        let user = query.string("user")
        if let user { try FieldRules.id(user, field: "user") }
        let cursor = query.string("cursor")
        if let cursor { try FieldRules.projectID(cursor, field: "cursor") }
        let list = try await projects.list(
            user: user,
            matching: signed.principal.projectLikePatterns,
            cursor: cursor,
            limit: try query.limit(default: HistoryService.defaultLimit, max: HistoryService.maxLimit)
        )
        return APIResponse(json: list)
    }

    /// `GET /v1/projects/{projectId}`.
    func project(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        _ = try await authenticator.authenticate(request, context: context, action: "project.read")
        let projectID = try context.parameters.require("projectId")
        return APIResponse(json: try await projects.project(projectID))
    }

    /// `GET /v1/projects/{projectId}/versions`: oldest first, each with its parent.
    func versions(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        _ = try await authenticator.authenticate(request, context: context, action: "versions.read")
        let projectID = try context.parameters.require("projectId")
        return APIResponse(json: try await projects.versions(of: projectID))
    }

    /// `GET /v1/jobs/{jobId}`.
    func job(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        let signed = try await authenticator.authenticate(request, context: context, action: "job.read")
        let text = try context.parameters.require("jobId")
        guard let jobID = UUID(uuidString: text) else {
            throw APIError.invalidField("jobId", "must be a UUID, got \"\(text.prefix(64))\"")
        }
        let job = try await projects.job(jobID)
        try signed.principal.require(project: job.projectID)
        return APIResponse(json: job)
    }
}
