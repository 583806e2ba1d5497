import Foundation
import RollbackBroker
import RollbackClient
import RollbackProtocol
import RollbackRuntime
import TestSupport
import Testing

/// Who may do what: service keys act for the user they name, operator keys act as their own
/// actor within their role and projects. Against a real broker, PostgreSQL and Redis.
@Suite("Keys and roles")
struct AccessTests {
    static func rollbackBody(_ project: BrokerHarness.Project, user: String? = nil) -> RollbackRequest {
        RollbackRequest(
            userID: user ?? project.user,
            projectID: project.id,
            targetVersionID: project.v1,
            skipWorkingDirectory: true,
            reason: "checkout is broken"
        )
    }

    static func error(_ response: HTTP1Response) throws -> APIErrorBody.Payload {
        try JSONDecoder().decode(APIErrorBody.self, from: Data(response.body)).error
    }

    static func audit(_ broker: BrokerHarness, project: String) async throws -> [AuditRecord] {
        let response = try await broker.send("GET", "/v1/audit?project=\(project)&limit=200", key: "admin-1")
        try broker.expectStatus(response, 200)
        return try BrokerHarness.decode(AuditPage.self, response).entries
    }

    @Test(
        "a viewer reads but cannot roll back, freeze or cancel: 403 naming role operator, nothing changed, audited"
    )
    func viewer() async throws {
        try await BrokerHarness.with { broker in
            let project = try await broker.makeProject()
            for target in [
                "/v1/projects/\(project.id)", "/v1/projects/\(project.id)/history", "/v1/projects",
            ] {
                try broker.expectStatus(try await broker.send("GET", target, key: "viewer-1"), 200)
            }
            let refused = try await broker.post(
                "/v1/versions/rollback",
                json: Self.rollbackBody(project),
                key: "viewer-1"
            )
            #expect(refused.status == 403)
            let payload = try Self.error(refused)
            #expect(payload.code == "role_required")
            #expect(payload.details["requiredRole"] == "operator" && payload.details["role"] == "viewer")
            #expect(payload.message.contains("vera"), "\(payload.message)")
            for action in ["freeze", "rollback/cancel"] {
                let response = try await broker.post(
                    "/v1/projects/\(project.id)/\(action)",
                    json: ["userId": project.user],
                    key: "viewer-1"
                )
                #expect(response.status == 403 && BrokerHarness.errorCode(response) == "role_required")
            }
            let after = try BrokerHarness.decode(
                ProjectView.self,
                try await broker.send("GET", "/v1/projects/\(project.id)")
            )
            #expect(after.status == .deployed && after.currentVersionID == project.v2 && after.frozen == nil)
            let rows = try await Self.audit(broker, project: project.id)
            let refusal = try #require(rows.first { $0.action == "rollback" })
            #expect(
                refusal.outcome == "refused" && refusal.statusCode == 403 && refusal.reason == "role_required"
            )
            #expect(refusal.keyID == "viewer-1" && refusal.actor == "vera")
        }
    }

    @Test(
        "an operator limited to shop-* acts on shop projects and cannot touch blog: 403 project_not_permitted"
    )
    func limitedOperator() async throws {
        try await BrokerHarness.with { broker in
            let shop = try await broker.makeProject(prefix: "shop")
            let blog = try await broker.makeProject(prefix: "blog")
            let refused = try await broker.post(
                "/v1/versions/rollback",
                json: Self.rollbackBody(blog),
                key: "shop-operator-1"
            )
            #expect(refused.status == 403)
            #expect(try Self.error(refused).code == "project_not_permitted")
            #expect(try Self.error(refused).details["projects"] == "shop-*")
            for (method, target) in [
                ("GET", "/v1/projects/\(blog.id)"), ("GET", "/v1/projects/\(blog.id)/history"),
                ("GET", "/v1/projects/\(blog.id)/events?follow=false"),
            ] {
                let response = try await broker.send(method, target, key: "shop-operator-1")
                #expect(response.status == 403, "\(target)")
                #expect(BrokerHarness.errorCode(response) == "project_not_permitted", "\(target)")
            }
            let freeze = try await broker.post(
                "/v1/projects/\(blog.id)/freeze",
                json: ["userId": "sam"],
                key: "shop-operator-1"
            )
            #expect(freeze.status == 403 && BrokerHarness.errorCode(freeze) == "project_not_permitted")
            let blogAfter = try BrokerHarness.decode(
                ProjectView.self,
                try await broker.send("GET", "/v1/projects/\(blog.id)")
            )
            #expect(blogAfter.currentVersionID == blog.v2 && blogAfter.frozen == nil)

            let accepted = try await broker.post(
                "/v1/versions/rollback",
                json: Self.rollbackBody(shop),
                key: "shop-operator-1"
            )
            try broker.expectStatus(accepted, 200)
            let list = try BrokerHarness.decode(
                ProjectList.self,
                try await broker.send("GET", "/v1/projects?limit=200", key: "shop-operator-1")
            )
            #expect(list.projects.contains { $0.projectID == shop.id })
            #expect(list.projects.allSatisfy { $0.projectID.hasPrefix("shop-") })
        }
    }

    @Test("an operator's audit rows and history carry its actor and key whatever userId the body claims")
    func operatorActor() async throws {
        try await BrokerHarness.with { broker in
            let project = try await broker.makeProject()
            // The project belongs to another user: an operator acts for the team, not for them.
            let accepted = try await broker.post(
                "/v1/versions/rollback",
                json: Self.rollbackBody(project, user: "mallory"),
                key: "operator-1"
            )
            try broker.expectStatus(accepted, 200)
            let rows = try await Self.audit(broker, project: project.id)
            let rollback = try #require(rows.first { $0.action == "rollback.previewOnly" })
            #expect(
                rollback.outcome == "accepted" && rollback.actor == "olga" && rollback.keyID == "operator-1"
            )
            #expect(!rows.contains { $0.actor == "mallory" })
            let history = try BrokerHarness.decode(
                HistoryPage.self,
                try await broker.send("GET", "/v1/projects/\(project.id)/history")
            )
            let entry = try #require(history.entries.first { $0.kind == .previewOnly })
            #expect(entry.actor == "olga" && entry.keyID == "operator-1" && entry.caller == "operator-1")
            // The web tier's key records the user it names, and its own key id.
            let build = try #require(history.entries.first { $0.kind == .build })
            #expect(build.keyID == "web-1" && build.caller == "web")
            // A service key is still held to the owner.
            let stranger = try await broker.post(
                "/v1/projects/\(project.id)/freeze",
                json: ["userId": "mallory", "reason": "incident"]
            )
            #expect(stranger.status == 403 && BrokerHarness.errorCode(stranger) == "project_not_owned")
            try broker.expectStatus(
                try await broker.post(
                    "/v1/projects/\(project.id)/freeze",
                    json: ["userId": "mallory", "reason": "incident"],
                    key: "operator-1"
                ),
                200
            )
        }
    }

    @Test("the audit log is for admins; registering projects and builds is for service keys")
    func adminAndServiceOnly() async throws {
        try await BrokerHarness.with { broker in
            let web = try await broker.send("GET", "/v1/audit")
            #expect(web.status == 403)
            #expect(try Self.error(web).details["requiredRole"] == "admin")
            let operatorRead = try await broker.send("GET", "/v1/audit", key: "operator-1")
            #expect(operatorRead.status == 403 && BrokerHarness.errorCode(operatorRead) == "role_required")
            try broker.expectStatus(try await broker.send("GET", "/v1/audit", key: "admin-1"), 200)
            let register = try await broker.post(
                "/v1/projects",
                json: RegisterProjectRequest(projectID: "p-by-admin", userID: "ada", host: "build-host-1"),
                key: "admin-1"
            )
            #expect(register.status == 403)
            #expect(try Self.error(register).details["requiredRole"] == "service")
        }
    }

    @Test("a key removed from the keyring file fails after SIGHUP, without a restart or a dropped connection")
    func reloadOnHangup() async throws {
        let directory = TemporaryFiles.directory(prefix: "rbk-keys")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The operator's key, made the way an admin would.
        let created = try await ChildProcess.run(
            ChildProcess.packageProgram("rollbackctl"),
            [
                "keys", "create", "--actor", "eve", "--role", "viewer", "--id", "eve-1", "--out",
                "\(directory)/eve.json", "--json",
            ]
        )
        #expect(created.status == 0, "\(created.stderr)")
        let entry = try #require(
            (try JSONSerialization.jsonObject(with: Data(created.stdout.utf8)) as? [String: Any])?["entry"]
                as? [String: Any]
        )
        #expect(entry["kind"] as? String == "operator" && entry["role"] as? String == "viewer")
        let eveKeyring = try KeyringFile.load("\(directory)/eve.json")
        let web: [String: Any] = [
            "id": "web-1", "caller": "web", "secret": Data(BrokerHarness.secret).base64EncodedString(),
        ]
        let keyringPath = "\(directory)/broker-keyring.json"
        func writeKeyring(_ keys: [[String: Any]]) throws {
            let data = try JSONSerialization.data(withJSONObject: ["active": "web-1", "keys": keys])
            let temporary = keyringPath + ".new"
            #expect(
                FileManager.default.createFile(
                    atPath: temporary,
                    contents: data,
                    attributes: [.posixPermissions: 0o600]
                )
            )
            #expect(rename(temporary, keyringPath) == 0)
        }
        try writeKeyring([web, entry])
        let broker = try await BrokerProcess.start(
            ["serve", "--keyring", keyringPath],
            logPath: "\(directory)/broker.log"
        )
        defer { broker.kill() }
        let eve = HTTPRequestSigner(key: eveKeyring.activeKey)
        let webSigner = HTTPRequestSigner(key: BrokerHarness.keyring.activeKey)
        func get(_ signer: HTTPRequestSigner, on connection: HTTP1Connection) async throws -> HTTP1Response {
            try await connection.send(
                method: "GET",
                target: "/v1/projects?limit=1",
                headers: signer.headers(
                    method: "GET",
                    target: "/v1/projects?limit=1",
                    body: [],
                    timestamp: UnixTime.now()
                )
            )
        }
        func fresh(_ signer: HTTPRequestSigner) async throws -> HTTP1Response {
            try await HTTP1Connection.withConnection(host: "127.0.0.1", port: broker.port) {
                try await get(signer, on: $0)
            }
        }
        try await HTTP1Connection.withConnection(host: "127.0.0.1", port: broker.port) { kept in
            #expect(try await get(webSigner, on: kept).status == 200)
            #expect(try await fresh(eve).status == 200)

            // A keyring that cannot be read keeps the keys loaded before.
            #expect(
                FileManager.default.createFile(
                    atPath: keyringPath,
                    contents: Data("{".utf8),
                    attributes: [.posixPermissions: 0o600]
                )
            )
            broker.signal(SIGHUP)
            try await waitUntil(timeout: .seconds(10), "the broker to refuse the broken keyring") {
                broker.log.contains("cannot reload the keyring")
            }
            #expect(try await fresh(eve).status == 200)

            try writeKeyring([web])
            broker.signal(SIGHUP)
            try await waitUntil(timeout: .seconds(10), "eve's key to stop working") {
                let response = try await fresh(eve)
                return response.status == 401 && BrokerHarness.errorCode(response) == "unknown_key_id"
            }
            // The connection opened before the reload still serves.
            #expect(try await get(webSigner, on: kept).status == 200)
        }
        #expect(broker.log.contains("reloaded the keyring on SIGHUP: 1 keys (web-1)"), "\(broker.log)")
        try await broker.stop()
    }
}

@Suite("Broker keyring grants")
struct AccessKeyringTests {
    static func parse(_ entry: String) throws -> AccessKeyring {
        try AccessKeyring(json: Array(#"{"keys":[\#(entry)]}"#.utf8))
    }

    static let secret = Data(repeating: 7, count: 32).base64EncodedString()

    @Test("operator keys name an actor and a role; service keys stay as before; mistakes are named")
    func grants() throws {
        let keyring = try Self.parse(
            #"{"id":"w","secret":"\#(Self.secret)","caller":"web"},{"id":"o","secret":"\#(Self.secret)","kind":"operator","actor":"alice","role":"admin","projects":["shop-*"]}"#
        )
        #expect(keyring.grant(ofKeyID: "w") == .service)
        #expect(
            keyring.grant(ofKeyID: "o")
                == .operator(actor: "alice", role: .admin, projects: try ProjectPatterns(["shop-*"]))
        )
        let mistakes: [(String, String)] = [
            (#"{"id":"o","secret":"\#(Self.secret)","kind":"operator","role":"admin"}"#, "needs \"actor\""),
            (
                #"{"id":"o","secret":"\#(Self.secret)","kind":"operator","actor":"a","role":"root"}"#,
                "\"role\" must be"
            ),
            (#"{"id":"o","secret":"\#(Self.secret)","role":"admin"}"#, "belong to operator keys"),
            (#"{"id":"o","secret":"\#(Self.secret)","kind":"robot"}"#, "\"kind\" must be"),
            (
                #"{"id":"o","secret":"\#(Self.secret)","kind":"operator","actor":"a","role":"viewer","projects":["a b"]}"#,
                "may hold only"
            ),
            (
                #"{"id":"o","secret":"\#(Self.secret)","kind":"operator","actor":"a","role":"viewer","projects":[]}"#,
                "at least one"
            ),
        ]
        for (entry, message) in mistakes {
            #expect(throws: AccessKeyringError.self, "\(entry)") { try Self.parse(entry) }
            do {
                _ = try Self.parse(entry)
            } catch let error as AccessKeyringError {
                #expect(error.message.contains(message), "\(error.message)")
            }
        }
    }

    @Test("project patterns: * matches any run, nothing else is special")
    func patterns() throws {
        let patterns = try ProjectPatterns(["shop-*", "*-staging", "blog", "a*b*c"])
        for id in ["shop-", "shop-eu", "x-staging", "blog", "abc", "a-b-c", "aXbYbZc"] {
            #expect(patterns.matches(id), "\(id)")
        }
        for id in ["shop", "blog-2", "xblog", "ab", "a-c", "staging", "shop_eu2-stag"] {
            #expect(!patterns.matches(id), "\(id)")
        }
        #expect(Role.viewer < .operator && Role.operator < .admin)
    }
}
