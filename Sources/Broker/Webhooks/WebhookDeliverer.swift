import Foundation
import Logging
import ServiceLifecycle

/// Sends the webhook outbox (`webhook_deliveries`, filled by a trigger in each event's own
/// transaction). Runs in every API process; subscriptions are leased, so each is served by one
/// process at a time, which sends its deliveries strictly in event order: the oldest pending
/// one, and the next only once that one is delivered. A failure is retried with exponential
/// backoff; a subscription failing for `giveUpSeconds` is disabled, with an audit row.
///
/// Wakes when a delivery is queued (a NOTIFY through the `ChangeHub`), when a retry or another
/// process's lease comes due, or — only while deliveries are pending or the listener is down —
/// on the safety-net poll. With nothing pending it runs no queries.
struct WebhookDeliverer: Service {
    let database: Database
    let changes: ChangeHub
    let settings: WebhookSettings
    let sender: WebhookSender
    let logger: Logger

    init(database: Database, changes: ChangeHub, settings: WebhookSettings, logger: Logger) {
        self.database = database
        self.changes = changes
        self.settings = settings
        self.sender = WebhookSender(timeout: settings.timeout)
        var logger = logger
        logger[metadataKey: "webhooks"] = "\(settings.owner)"
        self.logger = logger
    }

    func run() async throws {
        guard await Migrator(database: database).waitUntilCurrent(logger: logger) else { return }
        await changes.withWebhooks { wakeUps in
            await deliverLoop(wakeUps: wakeUps)
        }
    }

    private func deliverLoop(wakeUps: Mailbox<Bool>) async {
        let active = ActiveCount()
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                var claimed: WebhookStore.Claimed?
                if active.count < settings.concurrency {
                    do {
                        claimed = try await database.connection { [settings, logger] connection in
                            try await WebhookStore.claim(
                                owner: settings.owner,
                                leaseSeconds: settings.leaseSeconds,
                                on: connection,
                                logger: logger
                            )
                        }
                    } catch {
                        if Task.isCancelled || Task.isShuttingDownGracefully { break }
                        logger.warning(
                            "cannot claim webhook deliveries; retrying",
                            metadata: ["error": "\(error)"]
                        )
                    }
                }
                if let subscription = claimed {
                    active.add(1)
                    group.addTask {
                        await drain(subscription)
                        active.add(-1)
                        wakeUps.post(true)
                    }
                    continue
                }
                // Nothing pending anywhere: sleep until a delivery is queued (a notice) — an idle
                // deliverer runs no queries. Without the listener, notices may be lost: poll.
                var wait = changes.isListening ? Duration.seconds(3600) : settings.safetyNetPoll
                do {
                    if let due = try await database.connection({ [logger] in
                        try await WebhookStore.nextDue(on: $0, logger: logger)
                    }) {
                        // A retry or a lapsing lease comes due (never spin: at least 10 ms).
                        wait = min(settings.safetyNetPoll, max(due, .milliseconds(10)))
                    }
                } catch {
                    wait = settings.safetyNetPoll
                }
                _ = await wakeUps.takeUnlessShuttingDown(within: wait)
            }
        }
    }

    /// Sends the subscription's due deliveries in order until one fails, none is due, or the
    /// lease is lost; then gives the lease back.
    private func drain(_ subscription: WebhookStore.Claimed) async {
        let owner = settings.owner
        let logger = self.logger
        do {
            while !Task.isCancelled {
                guard
                    let head = try await database.connection({
                        try await WebhookStore.head(of: subscription.id, on: $0, logger: logger)
                    }), head.dueIn == .zero
                else { break }
                switch await sender.send(head, to: subscription) {
                case .success(let status):
                    let held = try await database.connection { [settings] connection in
                        try await WebhookStore.delivered(
                            head,
                            of: subscription.id,
                            owner: owner,
                            status: status,
                            leaseSeconds: settings.leaseSeconds,
                            on: connection,
                            logger: logger
                        )
                    }
                    guard held else { return }
                case .failure(let failure):
                    let delay = settings.retryDelay(afterAttempts: head.attempts + 1)
                    let outcome = try await database.connection { [settings] connection in
                        try await WebhookStore.failed(
                            head,
                            of: subscription.id,
                            owner: owner,
                            status: failure.status,
                            error: failure.message,
                            retryIn: delay,
                            giveUpSeconds: settings.giveUpSeconds,
                            on: connection,
                            logger: logger
                        )
                    }
                    let metadata: Logger.Metadata = [
                        "webhook.id": "\(subscription.id)", "event.id": "\(head.eventID)",
                        "attempt": "\(head.attempts + 1)", "error": "\(failure.message)",
                    ]
                    if outcome == .disabled {
                        logger.error(
                            "webhook disabled: its deliveries failed for too long",
                            metadata: metadata
                        )
                    } else {
                        logger.info("webhook delivery failed; retrying in \(delay)", metadata: metadata)
                    }
                    try await release(subscription)
                    return
                }
            }
            try await release(subscription)
        } catch {
            // The lease runs out by itself; another process (or this one) takes over then.
            logger.warning(
                "webhook delivery interrupted",
                metadata: ["webhook.id": "\(subscription.id)", "error": "\(error)"]
            )
        }
    }

    private func release(_ subscription: WebhookStore.Claimed) async throws {
        try await database.connection { [settings, logger] connection in
            try await WebhookStore.release(
                subscription.id,
                owner: settings.owner,
                on: connection,
                logger: logger
            )
        }
    }
}
