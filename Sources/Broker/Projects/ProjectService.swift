import Foundation
import Logging
import PostgresNIO
import RollbackProtocol

/// Projects, their versions and their jobs as the API reads and registers them. The routes
/// validate and answer; this decides and writes, through the stores, in one transaction each.
struct ProjectService: Sendable {
    let database: Database
    let logger: Logger

    /// Who asked, for the audit row and the ownership rule.
    struct Caller: Sendable {
        var principal: Principal
        var requestID: String
        /// The audit's and history's `caller` (the idempotency scope).
        var name: String { principal.caller }
        var keyID: String { principal.keyID }

        /// Refuses a service key acting for a user who does not own the project; an operator
        /// key acts for the team (its project patterns were checked with the route).
        func checkOwner(of projectID: String, owner: String, claimedUser: String) throws {
            guard !principal.isHeldToOwners || owner == claimedUser else {
                throw APIError.projectNotOwned(projectID, user: claimedUser)
            }
        }
    }

    /// Registers a project and its build host. The same registration again answers the same
    /// (`created` false); another owner or host is a conflict.
    func register(
        _ body: RegisterProjectRequest,
        caller: Caller
    ) async throws -> (project: ProjectView, created: Bool) {
        let logger = self.logger
        return try await database.transaction(stampedBy: caller.keyID) { connection in
            let inserted = try await ProjectStore.insertIfAbsent(
                id: body.projectID,
                userID: body.userID,
                host: body.host,
                on: connection,
                logger: logger
            )
            let project = try await Self.require(body.projectID, on: connection, logger: logger)
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
                    caller: caller.name,
                    keyID: caller.keyID,
                    actor: body.userID,
                    action: "project.register",
                    projectID: body.projectID,
                    outcome: "accepted",
                    statusCode: 201,
                    reason: nil,
                    details: ["host": body.host],
                    requestID: caller.requestID
                ).insert(on: connection, logger: logger)
            }
            return (project.view, inserted)
        }
    }

    /// Registers a built version, by default as the project's deployed current version (which
    /// moves the epoch). Registering the same data again answers the stored version (`created`
    /// false); the same id with any other data is 409 `version_exists`.
    func registerVersion(
        _ body: RegisterVersionRequest,
        projectID: String,
        caller: Caller
    ) async throws -> (version: VersionView, created: Bool) {
        let logger = self.logger
        return try await database.transaction(stampedBy: caller.keyID) { connection in
            let project = try await Self.require(projectID, on: connection, logger: logger)
            let makeCurrent = body.makeCurrent ?? true
            if makeCurrent && project.status == .rollingBack {
                throw RollbackService.busy(projectID, because: "a new current version must wait for it")
            }
            if let existing = try await VersionStore.find(body.versionID, on: connection, logger: logger) {
                try Self.checkSameVersion(existing, body, projectID: projectID)
                return (existing.view, false)
            }
            try await VersionStore.insert(
                VersionRow(
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
                ),
                on: connection,
                logger: logger
            )
            if makeCurrent {
                try await ProjectStore.makeCurrent(
                    projectID: projectID,
                    versionID: body.versionID,
                    previewURL: body.previewURL,
                    on: connection,
                    logger: logger
                )
                try await HistoryStore.append(
                    HistoryStore.Append(
                        projectID: projectID,
                        kind: .build,
                        actor: project.userID,
                        caller: caller.name,
                        reason: nil,
                        fromVersionID: project.currentVersionID,
                        toVersionID: body.versionID,
                        targetVersionID: nil,
                        jobID: nil,
                        outcome: "succeeded",
                        changesCurrent: true
                    ),
                    on: connection,
                    logger: logger
                )
            }
            try await AuditEntry(
                caller: caller.name,
                keyID: caller.keyID,
                actor: project.userID,
                action: "version.register",
                projectID: projectID,
                outcome: "accepted",
                statusCode: 201,
                reason: nil,
                details: ["versionId": body.versionID, "makeCurrent": String(makeCurrent)],
                requestID: caller.requestID
            ).insert(on: connection, logger: logger)
            guard let stored = try await VersionStore.find(body.versionID, on: connection, logger: logger)
            else {
                throw APIError(.notFound, "version_not_found", "version \(body.versionID) vanished")
            }
            return (stored.view, true)
        }
    }

    /// Registering is idempotent only for the same data: any field that differs is a different
    /// version under a reused id (version ids are unique across all projects).
    private static func checkSameVersion(
        _ existing: VersionRow,
        _ body: RegisterVersionRequest,
        projectID: String
    ) throws {
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
                details: ["versionId": body.versionID, "fields": differing.joined(separator: ",")]
            )
        }
    }

    /// The project, with its current version and how that became current.
    func project(_ id: String) async throws -> ProjectView {
        let logger = self.logger
        return try await database.connection { connection in
            let project = try await Self.require(id, on: connection, logger: logger)
            var view = project.view
            if let currentID = project.currentVersionID,
                let version = try await VersionStore.find(currentID, on: connection, logger: logger)
            {
                let since = try await HistoryStore.currentSince(
                    project: id,
                    currentVersionID: currentID,
                    on: connection,
                    logger: logger
                )
                view.current = CurrentVersion(
                    versionID: currentID,
                    kind: version.kind,
                    parentVersionID: version.parentVersionID,
                    deploymentID: version.deploymentID,
                    since: since?.at,
                    via: since?.kind,
                    actor: since?.actor,
                    reason: since?.reason
                )
            }
            return view
        }
    }

    /// Projects in id order, `limit` after `cursor` (a project id), optionally of one user, and
    /// only those matching `likePatterns` (an operator key's projects) when given.
    func list(
        user: String?,
        matching likePatterns: [String]? = nil,
        cursor: String?,
        limit: Int
    ) async throws -> ProjectList {
        let logger = self.logger
        return try await database.connection { connection in
            let rows = try await ProjectStore.list(
                user: user,
                matching: likePatterns,
                after: cursor,
                limit: limit + 1,
                on: connection,
                logger: logger
            )
            let page = rows.prefix(limit).map(\.view)
            return ProjectList(projects: page, nextCursor: rows.count > limit ? page.last?.projectID : nil)
        }
    }

    /// The project's versions, oldest first.
    func versions(of projectID: String) async throws -> VersionList {
        let logger = self.logger
        return try await database.connection { connection in
            _ = try await Self.require(projectID, on: connection, logger: logger)
            let versions = try await VersionStore.all(project: projectID, on: connection, logger: logger)
            return VersionList(projectID: projectID, versions: versions.map(\.view))
        }
    }

    func job(_ id: UUID) async throws -> JobView {
        let logger = self.logger
        return try await database.connection { connection in
            guard let job = try await JobStore.find(id, on: connection, logger: logger) else {
                throw APIError(.notFound, "job_not_found", "job \(id.uuidString.lowercased()) does not exist")
            }
            return job.view
        }
    }

    /// Throws 404 `project_not_found` unless the project is registered.
    func requireExists(_ id: String) async throws {
        let logger = self.logger
        _ = try await database.connection { try await Self.require(id, on: $0, logger: logger) }
    }

    static func require(
        _ id: String,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> ProjectRow {
        guard let project = try await ProjectStore.find(id, on: connection, logger: logger) else {
            throw APIError.projectNotFound(id)
        }
        return project
    }
}
