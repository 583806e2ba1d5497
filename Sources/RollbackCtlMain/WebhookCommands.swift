import ArgumentParser
import Foundation
import RollbackClient
import RollbackProtocol

/// `rollbackctl webhooks`: subscriptions that POST events to other systems (admin keys).
struct Webhooks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage webhook subscriptions (needs an admin key).",
        discussion: """
            Each event a subscription matches is delivered, in event order, as a POST with the \
            event's JSON and a Rollback-Webhook-Signature header (t=<unix>,v1=<hex HMAC-SHA256 \
            of "<t>." + body>); failures are retried with backoff, and a subscription failing \
            for 24 h is disabled. See spec/http-api.md, "Webhooks".

            Examples:
              rollbackctl webhooks create --url http://chat-bridge:8080/rollback \\
                --event rollbackCompleted --event rollbackFailed --project 'shop-*'
              rollbackctl webhooks list
              rollbackctl webhooks deliveries 5f0c…
              rollbackctl webhooks enable 5f0c…
            """,
        subcommands: [
            Create.self, List.self, Show.self, Deliveries.self, Enable.self, Disable.self, Delete.self,
        ]
    )

    static func line(_ webhook: WebhookView) -> String {
        let state =
            webhook.enabled
            ? (webhook.failingSince.map { "failing since \(ISO8601DateFormatter().string(from: $0))" } ?? "ok")
            : "disabled: \(webhook.disabledReason ?? "-")"
        return "\(webhook.webhookID)  \(webhook.url)  [\(webhook.eventTypes.joined(separator: ","))]"
            + (webhook.projects.map { "  projects \($0.joined(separator: ","))" } ?? "")
            + "  \(state), \(webhook.pendingDeliveries) pending"
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Subscribe a receiver; prints the secret once."
        )
        @OptionGroup var broker: BrokerOptions
        @Option(help: "Where to POST (http://…).") var url: String
        @Option(
            name: .customLong("event"),
            help:
                "An event type to deliver (repeatable): \(RollbackEventType.allCases.map(\.rawValue).joined(separator: ", "))."
        )
        var events: [String]
        @Option(
            name: .customLong("project"),
            help: "Only projects matching this pattern (repeatable; * matches any run)."
        )
        var projects: [String] = []
        @Option(help: "The signing secret (16–256 bytes; generated when absent).") var secret: String?

        func run() async throws {
            try await reportingFailures {
                let created = try await broker.run {
                    try await $0.createWebhook(
                        CreateWebhookRequest(
                            url: url,
                            eventTypes: events,
                            projects: projects.isEmpty ? nil : projects,
                            secret: secret
                        )
                    )
                }
                try broker.print(created) {
                    "\(Webhooks.line($0))\nsecret: \($0.secret ?? "-")  (shown once: give it to the receiver)"
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every subscription, with its state.")
        @OptionGroup var broker: BrokerOptions

        func run() async throws {
            try await reportingFailures {
                let list = try await broker.run { try await $0.webhooks() }
                try broker.print(list) {
                    $0.webhooks.isEmpty
                        ? "no webhooks" : $0.webhooks.map(Webhooks.line).joined(separator: "\n")
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One subscription.")
        @OptionGroup var broker: BrokerOptions
        @Argument(help: "The webhook id.") var id: String

        func run() async throws {
            try await reportingFailures {
                let webhook = try await broker.run { try await $0.webhook(id) }
                try broker.print(webhook) { Webhooks.line($0) }
            }
        }
    }

    struct Deliveries: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A subscription's delivery log, newest first."
        )
        @OptionGroup var broker: BrokerOptions
        @OptionGroup var page: PageOptions
        @Argument(help: "The webhook id.") var id: String

        func run() async throws {
            try await reportingFailures {
                let log = try await broker.run {
                    try await $0.webhookDeliveries(id, cursor: page.cursor, limit: page.limit)
                }
                try broker.print(log) { log in
                    let lines = log.deliveries.map { delivery in
                        "\(delivery.deliveryID)  event \(delivery.eventID) \(delivery.eventType) \(delivery.projectID)  "
                            + "\(delivery.state) after \(delivery.attempts) attempt(s)"
                            + (delivery.lastStatus.map { ", last status \($0)" } ?? "")
                            + (delivery.state == "pending" ? delivery.lastError.map { ": \($0)" } ?? "" : "")
                    }
                    return (lines.isEmpty ? ["no deliveries"] : lines).joined(separator: "\n")
                        + PageOptions.more(log.nextCursor)
                }
            }
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enable a subscription; what waited is sent, in order."
        )
        @OptionGroup var broker: BrokerOptions
        @Argument(help: "The webhook id.") var id: String

        func run() async throws {
            try await reportingFailures {
                let webhook = try await broker.run { try await $0.setWebhook(id, enabled: true) }
                try broker.print(webhook) { Webhooks.line($0) }
            }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Disable a subscription (no new deliveries)."
        )
        @OptionGroup var broker: BrokerOptions
        @Argument(help: "The webhook id.") var id: String

        func run() async throws {
            try await reportingFailures {
                let webhook = try await broker.run { try await $0.setWebhook(id, enabled: false) }
                try broker.print(webhook) { Webhooks.line($0) }
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a subscription and its delivery log."
        )
        @OptionGroup var broker: BrokerOptions
        @Argument(help: "The webhook id.") var id: String

        func run() async throws {
            try await reportingFailures {
                let webhook = try await broker.run { try await $0.deleteWebhook(id) }
                try broker.print(webhook) { "deleted \(Webhooks.line($0))" }
            }
        }
    }
}
