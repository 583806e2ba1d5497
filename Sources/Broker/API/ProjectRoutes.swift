import Foundation
import Hummingbird
import Logging
import PostgresNIO
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
        return try await audited(action: "project.register", caller: signed.verified.caller, context: context)
        {
            subject in
            let body = try RequestBody.decode(
                RegisterProjectRequest.self,
                from: signed.body,
                fields: ["projectId", "userId", "host"]
            )
            subject.actor = body.userID
            subject.projectID = body.projectID
            try FieldRules.projectID(body.projectID)
            try FieldRules.id(body.userID, field: "userId")
            try FieldRules.id(body.host, field: "host")
            let logger = self.logger
            let caller = signed.verified.caller
            let requestID = context.id
            return try await database.transaction { connection in
                let inserted = try await ProjectStore.insertIfAbsent(
                    id: body.projectID,
                    userID: body.userID,
                    host: body.host,
                    on: connection,
                    logger: logger
                )
                guard
                    let project = try await ProjectStore.find(body.projectID, on: connection, logger: logger)
                else {
                    throw APIError(.notFound, "project_not_found", "project \(body.projectID) vanished")
                }
                if !inserted && (project.userID != body.userID || project.host != body.host) {
                    throw APIError(
                        .conflict,
                        "project_exists",
                        "project \(body.projectID) is already registered with another owner or host",
                        details: ["projectId": body.projectID]
                    )
                }
                if inserted {
                    try await AuditEntry(
                        caller: caller,
                        actor: body.userID,
                        action: "project.register",
                        projectID: body.projectID,
                        outcome: "accepted",
                        statusCode: 201,
                        reason: nil,
                        details: ["host": body.host],
                        requestID: requestID
                    ).insert(on: connection, logger: logger)
                }
                return APIResponse(status: inserted ? .created : .ok, json: project.view)
            }
        }
    }

    static let versionFields: Set<String> = [
        "versionId", "artifactUrl", "artifactSha256", "artifactSize", "previewUrl", "deploymentId",
        "makeCurrent",
    ]

    /// `POST /v1/projects/{projectId}/versions`: registers a built version, by default as the
    /// project's deployed current version.
    func registerVersion(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        let signed = try await authenticator.authenticate(
            request,
            context: context,
            action: "version.register"
        )
        let projectID = try context.parameters.require("projectId")
        return try await audited(action: "version.register", caller: signed.verified.caller, context: context)
        {
            subject in
            subject.projectID = projectID
            try FieldRules.projectID(projectID)
            let body = try RequestBody.decode(
                RegisterVersionRequest.self,
                from: signed.body,
                fields: Self.versionFields
            )
            try FieldRules.id(body.versionID, field: "versionId")
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
            let logger = self.logger
            let caller = signed.verified.caller
            let requestID = context.id
            return try await database.transaction { connection in
                guard let project = try await ProjectStore.find(projectID, on: connection, logger: logger)
                else {
                    throw APIError(.notFound, "project_not_found", "project \(projectID) is not registered")
                }
                let makeCurrent = body.makeCurrent ?? true
                if makeCurrent && project.status == .rollingBack {
                    throw RollbackService.busy(projectID, because: "a new current version must wait for it")
                }
                let version = VersionRow(
                    id: body.versionID,
                    projectID: projectID,
                    parentVersionID: nil,
                    kind: "build",
                    status: .ready,
                    artifactURL: body.artifactURL,
                    artifactSHA256: body.artifactSHA256,
                    artifactSize: body.artifactSize,
                    previewURL: body.previewURL,
                    deploymentID: body.deploymentID,
                    published: false,
                    publishedAt: nil,
                    createdAt: Date()
                )
                if let existing = try await VersionStore.find(body.versionID, on: connection, logger: logger)
                {
                    // Registering is idempotent only for the same data: any field that differs is
                    // a different version under a reused id.
                    let differing = [
                        ("projectId", existing.projectID == projectID),
                        ("artifactUrl", existing.artifactURL == body.artifactURL),
                        ("artifactSha256", existing.artifactSHA256 == body.artifactSHA256),
                        ("artifactSize", existing.artifactSize == body.artifactSize),
                        ("previewUrl", existing.previewURL == body.previewURL),
                        ("deploymentId", existing.deploymentID == body.deploymentID),
                    ].filter { !$0.1 }.map(\.0)
                    guard differing.isEmpty else {
                        throw APIError(
                            .conflict,
                            "version_exists",
                            "version \(body.versionID) is already registered with other data "
                                + "(\(differing.joined(separator: ", "))); version ids are unique across all projects",
                            details: [
                                "versionId": body.versionID, "fields": differing.joined(separator: ","),
                            ]
                        )
                    }
                    return APIResponse(json: existing.view)
                }
                try await VersionStore.insert(version, on: connection, logger: logger)
                if makeCurrent {
                    try await ProjectStore.makeCurrent(
                        projectID: projectID,
                        versionID: body.versionID,
                        previewURL: body.previewURL,
                        on: connection,
                        logger: logger
                    )
                }
                try await AuditEntry(
                    caller: caller,
                    actor: project.userID,
                    action: "version.register",
                    projectID: projectID,
                    outcome: "accepted",
                    statusCode: 201,
                    reason: nil,
                    details: ["versionId": body.versionID, "makeCurrent": String(makeCurrent)],
                    requestID: requestID
                ).insert(on: connection, logger: logger)
                guard let stored = try await VersionStore.find(body.versionID, on: connection, logger: logger)
                else {
                    throw APIError(.notFound, "version_not_found", "version \(body.versionID) vanished")
                }
                return APIResponse(status: .created, json: stored.view)
            }
        }
    }

    /// `GET /v1/projects/{projectId}`.
    func project(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        _ = try await authenticator.authenticate(request, context: context, action: "project.read")
        let projectID = try context.parameters.require("projectId")
        let logger = self.logger
        return try await database.connection { connection in
            guard let project = try await ProjectStore.find(projectID, on: connection, logger: logger) else {
                throw APIError(.notFound, "project_not_found", "project \(projectID) is not registered")
            }
            return APIResponse(json: project.view)
        }
    }

    /// `GET /v1/projects/{projectId}/versions`: oldest first, each with its parent.
    func versions(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        _ = try await authenticator.authenticate(request, context: context, action: "versions.read")
        let projectID = try context.parameters.require("projectId")
        let logger = self.logger
        return try await database.connection { connection in
            guard try await ProjectStore.find(projectID, on: connection, logger: logger) != nil else {
                throw APIError(.notFound, "project_not_found", "project \(projectID) is not registered")
            }
            let versions = try await VersionStore.all(project: projectID, on: connection, logger: logger)
            return APIResponse(json: VersionList(projectID: projectID, versions: versions.map(\.view)))
        }
    }

    /// `GET /v1/jobs/{jobId}`.
    func job(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        _ = try await authenticator.authenticate(request, context: context, action: "job.read")
        let text = try context.parameters.require("jobId")
        guard let jobID = UUID(uuidString: text) else {
            throw APIError.invalidField("jobId", "must be a UUID, got \"\(text.prefix(64))\"")
        }
        let logger = self.logger
        return try await database.connection { connection in
            guard let job = try await JobStore.find(jobID, on: connection, logger: logger) else {
                throw APIError(.notFound, "job_not_found", "job \(text) does not exist")
            }
            return APIResponse(json: job.view)
        }
    }
}
