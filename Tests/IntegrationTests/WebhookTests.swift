import Foundation
import RollbackClient
import RollbackProtocol
import Synchronization
import TestSupport
import Testing

@testable import RollbackBroker

/// Webhooks end to end: subscriptions made through the API by an admin key, events from real
/// rollbacks (one through a real agent), a real HTTP receiver (`fixtures.py webhook-receiver`)
/// that is down for part of the run. Serialized, and the only tests whose brokers send webhooks,
/// so that no other broker on the shared database takes their subscriptions' leases.
@Suite("Webhooks", .serialized)
struct WebhookTests {
    /// One delivery as the receiver wrote it.
    struct Received: Decodable {
        var path: String
        var headers: [String: String]
        var body: String

        var eventID: Int64? { headers["rollback-event-id"].flatMap { Int64($0) } }
        var payload: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]) ?? [:]
        }
    }

    /// The receiver's port stays the same across its restarts, so the subscription URL holds.
    final class Receiver: Sendable {
        let directory: String
        let port: Int
        private let server: Mutex<FixtureServer?>

        var file: String { "\(directory)/received.jsonl" }

        init(directory: String) async throws {
            self.directory = directory
            let first = try await FixtureServer.start(
                "webhook-receiver",
                ["\(directory)/received.jsonl", "0"],
                portFile: "\(directory)/port-0",
                log: "\(directory)/receiver.log"
            )
            port = first.port
            server = Mutex(first)
        }

        func stop() {
            server.withLock {
                $0?.stop(); $0 = nil
            }
        }

        func start() async throws {
            let restarted = try await FixtureServer.start(
                "webhook-receiver",
                [file, String(port)],
                portFile: "\(directory)/port-\(UInt32.random(in: 1...UInt32.max))",
                log: "\(directory)/receiver.log"
            )
            server.withLock { $0 = restarted }
        }

        func received() throws -> [Received] {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return [] }
            return try text.split(separator: "\n").map {
                try JSONDecoder().decode(Received.self, from: Data($0.utf8))
            }
        }
    }

    static func create(
        _ broker: BrokerHarness,
        _ request: CreateWebhookRequest
    ) async throws -> WebhookView {
        let response = try await broker.post("/v1/webhooks", json: request, key: "admin-1")
        try broker.expectStatus(response, 201)
        return try BrokerHarness.decode(WebhookView.self, response)
    }

    static func webhook(_ broker: BrokerHarness, _ id: String) async throws -> WebhookView {
        let response = try await broker.send("GET", "/v1/webhooks/\(id)", key: "admin-1")
        try broker.expectStatus(response, 200)
        return try BrokerHarness.decode(WebhookView.self, response)
    }

    static func deliveries(_ broker: BrokerHarness, _ id: String) async throws -> [WebhookDeliveryView] {
        let response = try await broker.send("GET", "/v1/webhooks/\(id)/deliveries?limit=200", key: "admin-1")
        try broker.expectStatus(response, 200)
        return try BrokerHarness.decode(WebhookDeliveryPage.self, response).deliveries
    }

    /// `id:type` of the project's events, in id order, of the given types.
    static func events(_ broker: BrokerHarness, _ project: String, types: [String]) async throws -> [Int64] {
        let list = types.map { "'\($0)'" }.joined(separator: ",")
        let text = try await broker.value(
            "SELECT string_agg(id::text, ',' ORDER BY id) FROM events WHERE project_id = '\(project)' AND type IN (\(list))"
        )
        return (text ?? "").split(separator: ",").compactMap { Int64($0) }
    }

    @Test(
        "every matching event arrives after the receiver comes back, signed, in order per subscription, none to a subscription it does not match"
    )
    func outboxSurvivesADownReceiver() async throws {
        let directory = TemporaryFiles.directory(prefix: "rbk-webhooks")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let receiver = try await Receiver(directory: directory)
        defer { receiver.stop() }
        receiver.stop()  // down from the start: every delivery fails at first
        try await DispatchTests.withHost { host in
            let scene = try DispatchTests.Scene(host: host)
            try await BrokerHarness.with(
                roles: [.api, .dispatch],
                agents: [host],
                configure: { $0.webhookConcurrency = 4 }
            ) { broker in
                let agentProject = try await scene.project(on: broker)
                let other = try await broker.makeProject()
                let outcomes = ["rollbackStarted", "rollbackCompleted", "rollbackFailed", "rollbackCanceled"]
                let all = try await Self.create(
                    broker,
                    CreateWebhookRequest(
                        url: "http://127.0.0.1:\(receiver.port)/all?subscription=a",
                        eventTypes: outcomes,
                        projects: [agentProject]
                    )
                )
                #expect(all.secret?.hasPrefix("whsec_") == true && all.enabled)
                let started = try await Self.create(
                    broker,
                    CreateWebhookRequest(
                        url: "http://127.0.0.1:\(receiver.port)/started",
                        eventTypes: ["rollbackStarted"],
                        projects: [agentProject, other.id],
                        secret: "a-secret-the-receiver-chose"
                    )
                )
                #expect(started.secret == "a-secret-the-receiver-chose")
                // Events: a real rollback through the agent, and two preview-only ones.
                try broker.expectStatus(
                    try await broker.rollback(
                        RollbackRequest(
                            userID: "u-\(agentProject)",
                            projectID: agentProject,
                            targetVersionID: scene.v1ID,
                            reason: "webhook test"
                        )
                    ),
                    200
                )
                for target in [other.v1, other.v2] {
                    try broker.expectStatus(
                        try await broker.rollback(
                            RollbackRequest(
                                userID: other.user,
                                projectID: other.id,
                                targetVersionID: target,
                                skipWorkingDirectory: true
                            )
                        ),
                        200
                    )
                }
                try await DispatchTests.waitForStatus(broker, agentProject, "deployed")
                // Deliveries were tried and failed while the receiver was down.
                try await waitUntil(timeout: .seconds(30), "failed delivery attempts") {
                    let log = try await Self.deliveries(broker, all.webhookID)
                    return log.contains { $0.attempts >= 2 && $0.state == "pending" && $0.lastError != nil }
                }
                #expect(try await Self.webhook(broker, all.webhookID).failingSince != nil)
                try await receiver.start()
                try await waitUntil(timeout: .seconds(60), "every delivery made") {
                    let pending = [
                        try await Self.webhook(broker, all.webhookID).pendingDeliveries,
                        try await Self.webhook(broker, started.webhookID).pendingDeliveries,
                    ]
                    return pending == [0, 0]
                }
                let received = try receiver.received()
                let expectedAll = try await Self.events(broker, agentProject, types: outcomes)
                let expectedStarted =
                    try await Self.events(broker, agentProject, types: ["rollbackStarted"])
                    + Self.events(broker, other.id, types: ["rollbackStarted"])
                #expect(expectedAll.count == 2 && expectedStarted.count == 3)
                for (subscription, path, secret, expected) in [
                    (all, "/all?subscription=a", all.secret ?? "", expectedAll),
                    (started, "/started", "a-secret-the-receiver-chose", expectedStarted.sorted()),
                ] {
                    let mine = received.filter { $0.headers["rollback-webhook-id"] == subscription.webhookID }
                    #expect(mine.allSatisfy { $0.path == path })
                    // At least once, in order: the first arrival of each event follows event order.
                    var firstSeen: [Int64] = []
                    for delivery in mine where !firstSeen.contains(delivery.eventID ?? -1) {
                        firstSeen.append(delivery.eventID ?? -1)
                    }
                    #expect(firstSeen == expected, "\(path)")
                    for delivery in mine {
                        let header = try #require(delivery.headers["rollback-webhook-signature"])
                        #expect(
                            WebhookSignature.verify(
                                header: header,
                                body: Array(delivery.body.utf8),
                                secret: secret
                            ),
                            "\(header)"
                        )
                        #expect(
                            !WebhookSignature.verify(
                                header: header,
                                body: Array(delivery.body.utf8),
                                secret: "wrong"
                            )
                        )
                        #expect(delivery.payload["id"] as? Int == Int(delivery.eventID ?? -1))
                        #expect(
                            delivery.payload["type"] as? String == delivery.headers["rollback-event-type"]
                        )
                        #expect(subscription.eventTypes.contains(delivery.payload["type"] as? String ?? ""))
                        #expect(
                            subscription.projects?.contains(delivery.payload["projectId"] as? String ?? "")
                                == true
                        )
                    }
                }
                let log = try await Self.deliveries(broker, all.webhookID)
                #expect(log.count == 2 && log.allSatisfy { $0.state == "delivered" && $0.lastStatus == 204 })
                #expect(log.contains { $0.attempts >= 3 })
                #expect(try await Self.webhook(broker, all.webhookID).failingSince == nil)
                for id in [all.webhookID, started.webhookID] {
                    try broker.expectStatus(
                        try await broker.send("DELETE", "/v1/webhooks/\(id)", key: "admin-1"),
                        200
                    )
                    let gone = try await broker.send("GET", "/v1/webhooks/\(id)", key: "admin-1")
                    #expect(gone.status == 404)
                }
            }
        }
    }

    @Test(
        "a subscription that keeps failing is disabled with an audit row; enabling it resumes its deliveries"
    )
    func givesUp() async throws {
        let directory = TemporaryFiles.directory(prefix: "rbk-webhooks-dead")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let receiver = try await Receiver(directory: directory)
        defer { receiver.stop() }
        receiver.stop()
        try await BrokerHarness.with(configure: {
            $0.webhookConcurrency = 4
            $0.webhookGiveUpSeconds = 1
        }) { broker in
            let project = try await broker.makeProject()
            let subscription = try await Self.create(
                broker,
                CreateWebhookRequest(
                    url: "http://127.0.0.1:\(receiver.port)/dead",
                    eventTypes: ["rollbackStarted"],
                    projects: [project.id]
                )
            )
            try broker.expectStatus(
                try await broker.rollback(
                    RollbackRequest(
                        userID: project.user,
                        projectID: project.id,
                        targetVersionID: project.v1,
                        skipWorkingDirectory: true
                    )
                ),
                200
            )
            try await waitUntil(timeout: .seconds(60), "the subscription to be disabled") {
                try await !Self.webhook(broker, subscription.webhookID).enabled
            }
            let disabled = try await Self.webhook(broker, subscription.webhookID)
            #expect(disabled.disabledReason?.contains("failed for 1 s") == true, "\(disabled)")
            #expect(disabled.pendingDeliveries == 1)
            #expect(
                try await broker.count(
                    "SELECT count(*) FROM audit_log WHERE action = 'webhook.disabled' AND details->>'webhookId' = '\(subscription.webhookID)'"
                ) == 1
            )
            // Back up: enabling sends what waited.
            try await receiver.start()
            try broker.expectStatus(
                try await broker.send(
                    "POST",
                    "/v1/webhooks/\(subscription.webhookID)/enable",
                    body: Array("{}".utf8),
                    key: "admin-1"
                ),
                200
            )
            try await waitUntil(timeout: .seconds(30), "the waiting delivery") {
                try await Self.webhook(broker, subscription.webhookID).pendingDeliveries == 0
            }
            #expect(try receiver.received().filter { $0.path == "/dead" }.count == 1)
            _ = try await broker.send("DELETE", "/v1/webhooks/\(subscription.webhookID)", key: "admin-1")
        }
    }

    @Test(
        "webhooks are for admin keys; bad subscriptions are refused with the field named; an idle deliverer runs no queries"
    )
    func validation() async throws {
        try await BrokerHarness.with(configure: { $0.webhookConcurrency = 4 }) { broker in
            // Nothing pending anywhere: the deliverer waits for a notice, without polling.
            try await waitUntil(timeout: .seconds(10), "the listener") { broker.server.changes.isListening }
            try await Task.sleep(for: .milliseconds(300))  // its first look at the outbox
            let before = broker.server.database.uses
            try await Task.sleep(for: .seconds(2))  // an interval to measure, not a condition
            #expect(broker.server.database.uses - before == 0)
            let request = CreateWebhookRequest(url: "http://127.0.0.1:9/x", eventTypes: ["rollbackCompleted"])
            let byOperator = try await broker.post("/v1/webhooks", json: request, key: "operator-1")
            #expect(byOperator.status == 403 && BrokerHarness.errorCode(byOperator) == "role_required")
            let byWeb = try await broker.post("/v1/webhooks", json: request)
            #expect(byWeb.status == 403)
            for (body, field) in [
                (CreateWebhookRequest(url: "ftp://x/y", eventTypes: ["rollbackCompleted"]), "url"),
                (CreateWebhookRequest(url: "http:///nohost", eventTypes: ["rollbackCompleted"]), "url"),
                (CreateWebhookRequest(url: "http://h/x", eventTypes: []), "eventTypes"),
                (CreateWebhookRequest(url: "http://h/x", eventTypes: ["somethingElse"]), "eventTypes"),
                (
                    CreateWebhookRequest(
                        url: "http://h/x",
                        eventTypes: ["rollbackFailed"],
                        projects: ["a b"]
                    ), "projects"
                ),
                (
                    CreateWebhookRequest(url: "http://h/x", eventTypes: ["rollbackFailed"], secret: "short"),
                    "secret"
                ),
            ] {
                let response = try await broker.post("/v1/webhooks", json: body, key: "admin-1")
                #expect(response.status == 400, "\(body)")
                #expect(
                    (try? JSONDecoder().decode(APIErrorBody.self, from: Data(response.body)))?.error.details[
                        "field"
                    ]
                        == field,
                    "\(body)"
                )
            }
            let missing = try await broker.send("GET", "/v1/webhooks/\(UUID())", key: "admin-1")
            #expect(missing.status == 404 && BrokerHarness.errorCode(missing) == "webhook_not_found")
        }
    }
}
