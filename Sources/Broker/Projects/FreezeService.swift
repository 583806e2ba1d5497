import Logging
import PostgresNIO
import RollbackProtocol

/// Freezing a project: while frozen, every new build is held (not sent to the build system)
/// until someone unfreezes it, which releases the held builds in arrival order, or purges them
/// with `discard`. Rollbacks are not affected. Each change is one transaction with its history
/// entry, audit row and build events; released builds go through the same outbox as a
/// rollback's (`HeldBuildRelay`).
struct FreezeService: Sendable {
    let database: Database
    let relay: HeldBuildRelay
    let publisher: EventPublisher
    let logger: Logger

    /// Freezes the project; freezing a frozen project again changes nothing.
    func freeze(
        _ projectID: String,
        _ body: FreezeRequest,
        caller: ProjectService.Caller
    ) async throws -> ProjectView {
        let logger = self.logger
        return try await database.transaction(stampedBy: caller.keyID) { connection in
            let project = try await Self.owned(
                projectID,
                user: body.userID,
                caller: caller,
                on: connection,
                logger: logger
            )
            guard project.frozen == nil else { return project.view }
            try await ProjectStore.setFrozen(
                projectID,
                by: body.userID,
                reason: body.reason,
                on: connection,
                logger: logger
            )
            try await Self.record(
                .freeze,
                action: "freeze",
                project: project,
                user: body.userID,
                reason: body.reason,
                historyReason: body.reason,
                caller,
                connection,
                logger
            )
            return try await ProjectService.require(projectID, on: connection, logger: logger).view
        }
    }

    /// Unfreezes the project and releases (or, with `discard`, purges) the builds it held. While
    /// a rollback runs, its outcome settles the held builds instead. Unfreezing a project that
    /// is not frozen changes nothing.
    func unfreeze(
        _ projectID: String,
        _ body: UnfreezeRequest,
        caller: ProjectService.Caller
    ) async throws -> UnfreezeResult {
        let logger = self.logger
        let discard = body.discard ?? false
        let (result, released, events) = try await database.transaction(stampedBy: caller.keyID) {
            connection -> (UnfreezeResult, [HeldBuild], [StoredEvent]) in
            let project = try await Self.owned(
                projectID,
                user: body.userID,
                caller: caller,
                on: connection,
                logger: logger
            )
            let unchanged = UnfreezeResult(
                projectID: projectID,
                releasedBuilds: [],
                purgedBuilds: [],
                heldForRollback: false
            )
            guard project.frozen != nil else { return (unchanged, [], []) }
            try await ProjectStore.setFrozen(projectID, by: nil, reason: nil, on: connection, logger: logger)
            let rollingBack = project.status == .rollingBack
            var builds: [HeldBuild] = []
            var events: [StoredEvent] = []
            if !rollingBack {
                let reason = body.reason ?? (discard ? "discarded on unfreeze" : "released on unfreeze")
                builds = try await HeldBuildStore.settle(
                    projectID: projectID,
                    state: discard ? "purged" : "released",
                    reason: reason,
                    on: connection,
                    logger: logger
                )
                let type: RollbackEventType = discard ? .buildPurged : .buildReleased
                for build in builds {
                    if let event = try await EventStore.append(
                        HeldBuildEvent(
                            type: type,
                            projectID: projectID,
                            buildID: build.buildID,
                            reason: discard ? reason : nil
                        ),
                        type: type,
                        project: projectID,
                        on: connection,
                        logger: logger
                    ) {
                        events.append(event)
                    }
                }
            }
            let summary =
                rollingBack
                ? "held builds wait for the running rollback"
                : "\(builds.count) held build(s) \(discard ? "purged" : "released")"
            try await Self.record(
                .unfreeze,
                action: discard ? "unfreeze.discard" : "unfreeze",
                project: project,
                user: body.userID,
                reason: body.reason,
                historyReason: [body.reason, summary].compactMap { $0 }.joined(separator: "; "),
                caller,
                connection,
                logger
            )
            let ids = builds.map(\.buildID)
            let result = UnfreezeResult(
                projectID: projectID,
                releasedBuilds: discard ? [] : ids,
                purgedBuilds: discard ? ids : [],
                heldForRollback: rollingBack
            )
            return (result, discard ? [] : builds, events)
        }
        await publisher.publish(events)
        await relay.deliver(released)
        return result
    }

    /// Sets `freezeAfterRollback`.
    func settings(
        _ projectID: String,
        _ body: ProjectSettingsRequest,
        caller: ProjectService.Caller
    ) async throws
        -> ProjectView
    {
        let logger = self.logger
        return try await database.transaction(stampedBy: caller.keyID) { connection in
            let project = try await Self.owned(
                projectID,
                user: body.userID,
                caller: caller,
                on: connection,
                logger: logger
            )
            if let value = body.freezeAfterRollback {
                try await ProjectStore.setFreezeAfterRollback(
                    projectID,
                    value,
                    on: connection,
                    logger: logger
                )
            }
            try await Self.record(
                nil,
                action: "settings",
                project: project,
                user: body.userID,
                reason: nil,
                historyReason: nil,
                caller,
                connection,
                logger
            )
            return try await ProjectService.require(projectID, on: connection, logger: logger).view
        }
    }

    /// The project, locked for this transaction, if `user` owns it (or an operator acts).
    private static func owned(
        _ projectID: String,
        user: String,
        caller: ProjectService.Caller,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> ProjectRow {
        guard
            let project = try await ProjectStore.find(
                projectID,
                lockForUpdate: true,
                on: connection,
                logger: logger
            )
        else {
            throw APIError.projectNotFound(projectID)
        }
        try caller.checkOwner(of: projectID, owner: project.userID, claimedUser: user)
        return project
    }

    /// The history entry (for freeze and unfreeze; the current version does not change) and
    /// the audit row of one change.
    private static func record(
        _ kind: HistoryKind?,
        action: String,
        project: ProjectRow,
        user: String,
        reason: String?,
        historyReason: String?,
        _ caller: ProjectService.Caller,
        _ connection: PostgresConnection,
        _ logger: Logger
    ) async throws {
        if let kind {
            try await HistoryStore.append(
                HistoryStore.Append(
                    projectID: project.id,
                    kind: kind,
                    actor: user,
                    caller: caller.name,
                    reason: historyReason,
                    fromVersionID: project.currentVersionID,
                    toVersionID: project.currentVersionID,
                    targetVersionID: nil,
                    jobID: nil,
                    outcome: "succeeded",
                    changesCurrent: false
                ),
                on: connection,
                logger: logger
            )
        }
        try await AuditEntry(
            caller: caller.name,
            keyID: caller.keyID,
            actor: user,
            action: action,
            projectID: project.id,
            outcome: "accepted",
            statusCode: 200,
            reason: reason,
            details: [:],
            requestID: caller.requestID
        ).insert(on: connection, logger: logger)
    }
}
