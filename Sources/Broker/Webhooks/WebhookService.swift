import Foundation
import Logging
import PostgresNIO
import RollbackProtocol

/// The admin API over webhook subscriptions: checks what is asked, then writes it with an
/// audit row in one transaction. Deliveries themselves are the `WebhookDeliverer`'s.
struct WebhookService: Sendable {
    let database: Database
    let logger: Logger

    static let defaultLimit = 50
    static let maxLimit = 200

    func create(_ body: CreateWebhookRequest, caller: ProjectService.Caller) async throws -> WebhookView {
        let target = WebhookSender.Target(url: body.url)
        guard body.url.utf8.count <= 2048, target != nil else {
            throw APIError.invalidField(
                "url",
                "must be an http:// or https:// URL with a host, at most 2048 bytes"
            )
        }
        let known = Set(RollbackEventType.allCases.map(\.rawValue))
        guard !body.eventTypes.isEmpty, body.eventTypes.count <= known.count else {
            throw APIError.invalidField(
                "eventTypes",
                "must list 1–\(known.count) of \(known.sorted().joined(separator: ", "))"
            )
        }
        if let unknown = body.eventTypes.first(where: { !known.contains($0) }) {
            throw APIError.invalidField(
                "eventTypes",
                "has \"\(unknown.prefix(64))\"; the event types are \(known.sorted().joined(separator: ", "))"
            )
        }
        var patterns: ProjectPatterns?
        if let projects = body.projects {
            do {
                patterns = try ProjectPatterns(projects)
            } catch {
                throw APIError.invalidField("projects", error.message)
            }
        }
        if let secret = body.secret, !(16...256).contains(secret.utf8.count) {
            throw APIError.invalidField("secret", "must be 16–256 bytes")
        }
        var generator = SystemRandomNumberGenerator()
        let secret =
            body.secret
            ?? "whsec_" + Hex.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let new = WebhookStore.NewSubscription(
            id: UUID(),
            url: body.url,
            eventTypes: Array(Set(body.eventTypes)).sorted(),
            patterns: patterns,
            secret: secret,
            createdBy: caller.principal.boundActor ?? caller.name
        )
        let logger = self.logger
        return try await database.transaction(stampedBy: caller.keyID) { connection in
            let view = try await WebhookStore.insert(new, on: connection, logger: logger)
            try await Self.audit("webhook.create", view, caller, connection, logger)
            return view
        }
    }

    func list() async throws -> WebhookList {
        let logger = self.logger
        return WebhookList(
            webhooks: try await database.connection { try await WebhookStore.all(on: $0, logger: logger) }
        )
    }

    func get(_ id: UUID) async throws -> WebhookView {
        let logger = self.logger
        guard
            let view = try await database.connection({
                try await WebhookStore.find(id, on: $0, logger: logger)
            })
        else { throw Self.notFound(id) }
        return view
    }

    /// Enables or disables; enabling resumes its pending deliveries at once, in order.
    func setEnabled(_ id: UUID, _ enabled: Bool, caller: ProjectService.Caller) async throws -> WebhookView {
        let logger = self.logger
        return try await database.transaction(stampedBy: caller.keyID) { connection in
            let reason = "disabled by \(caller.principal.boundActor ?? caller.name)"
            guard
                try await WebhookStore.setEnabled(
                    id,
                    enabled,
                    reason: reason,
                    on: connection,
                    logger: logger
                ),
                let view = try await WebhookStore.find(id, on: connection, logger: logger)
            else { throw Self.notFound(id) }
            try await Self.audit(
                enabled ? "webhook.enable" : "webhook.disable",
                view,
                caller,
                connection,
                logger
            )
            return view
        }
    }

    /// Deletes the subscription with its pending deliveries and delivery log.
    func delete(_ id: UUID, caller: ProjectService.Caller) async throws -> WebhookView {
        let logger = self.logger
        return try await database.transaction(stampedBy: caller.keyID) { connection in
            guard let view = try await WebhookStore.find(id, on: connection, logger: logger),
                try await WebhookStore.delete(id, on: connection, logger: logger)
            else { throw Self.notFound(id) }
            try await Self.audit("webhook.delete", view, caller, connection, logger)
            return view
        }
    }

    func deliveries(of id: UUID, cursor: Int64?, limit: Int) async throws -> WebhookDeliveryPage {
        let logger = self.logger
        return try await database.connection { connection in
            guard try await WebhookStore.find(id, on: connection, logger: logger) != nil else {
                throw Self.notFound(id)
            }
            let rows = try await WebhookStore.deliveries(
                of: id,
                before: cursor,
                limit: limit + 1,
                on: connection,
                logger: logger
            )
            let page = Array(rows.prefix(limit))
            return WebhookDeliveryPage(
                webhookID: id.uuidString.lowercased(),
                deliveries: page,
                nextCursor: rows.count > limit ? page.last.map { String($0.deliveryID) } : nil
            )
        }
    }

    static func notFound(_ id: UUID) -> APIError {
        APIError(
            .notFound,
            "webhook_not_found",
            "webhook \(id.uuidString.lowercased()) does not exist",
            details: ["webhookId": id.uuidString.lowercased()]
        )
    }

    private static func audit(
        _ action: String,
        _ view: WebhookView,
        _ caller: ProjectService.Caller,
        _ connection: PostgresConnection,
        _ logger: Logger
    ) async throws {
        try await AuditEntry(
            caller: caller.name,
            keyID: caller.keyID,
            actor: caller.principal.boundActor,
            action: action,
            projectID: nil,
            outcome: "accepted",
            statusCode: 200,
            reason: nil,
            details: [
                "webhookId": view.webhookID, "url": view.url,
                "eventTypes": view.eventTypes.joined(separator: ","),
            ],
            requestID: caller.requestID
        ).insert(on: connection, logger: logger)
    }
}
