import Foundation
import Logging
import PostgresNIO
import RollbackClient
import RollbackProtocol
import TestSupport
import Testing

@testable import RollbackBroker

/// A real broker (in this process) on a free port, against the CI's PostgreSQL and Redis (or a
/// private Redis), with a real HTTP client. Every harness uses its own Redis key prefix and its
/// own project ids, so tests run in parallel without seeing each other.
final class BrokerHarness: Sendable {
    static let secret = Array("integration-test-secret-0123456789abcdef".utf8)
    static let keyring = try! Keyring(
        keys: [try! SigningKey(id: "web-1", secret: secret)],
        callers: ["web-1": "web"]
    )

    /// Operator keys beside the web tier's service key, one per role, and one limited to
    /// `shop-*`: key id → (actor, role, project patterns).
    static let operators: [String: (actor: String, role: Role, projects: [String]?)] = [
        "admin-1": ("ada", .admin, nil),
        "operator-1": ("olga", .operator, nil),
        "viewer-1": ("vera", .viewer, nil),
        "shop-operator-1": ("sam", .operator, ["shop-*"]),
    ]

    /// Each operator key's secret (derived from its id; tests only).
    static func operatorSecret(_ keyID: String) -> [UInt8] {
        Array("secret-of-\(keyID)-0123456789abcdef0123".utf8)
    }

    /// The broker's keyring: the web tier's service key and the operator keys.
    static let accessKeyring: AccessKeyring = {
        var keys = [try! SigningKey(id: "web-1", secret: secret)]
        var grants: [String: KeyGrant] = [:]
        for (id, grant) in operators.sorted(by: { $0.key < $1.key }) {
            keys.append(try! SigningKey(id: id, secret: operatorSecret(id)))
            grants[id] = .operator(
                actor: grant.actor,
                role: grant.role,
                projects: try! grant.projects.map { try ProjectPatterns($0) }
            )
        }
        return AccessKeyring(
            keyring: try! Keyring(keys: keys, activeKeyID: "web-1", callers: ["web-1": "web"]),
            grants: grants
        )
    }()

    static let logger = Logger(label: "test.sql")

    /// A keyring file (mode 600) holding the web tier's key, for clients run as processes;
    /// returns its path.
    static func writeClientKeyring(in directory: String) -> String {
        let path = "\(directory)/client-keyring.json"
        TemporaryFiles.writeKeyring(
            at: path,
            keyID: "web-1",
            secret: String(decoding: secret, as: UTF8.self),
            caller: "web"
        )
        return path
    }

    let server: BrokerServer
    let port: Int
    let redisURL: String
    let keys: RedisKeys
    let signer = HTTPRequestSigner(key: keyring.activeKey)
    private let task: Task<Void, any Error>

    private init(
        server: BrokerServer,
        port: Int,
        redisURL: String,
        keys: RedisKeys,
        task: Task<Void, any Error>
    ) {
        self.server = server
        self.port = port
        self.redisURL = redisURL
        self.keys = keys
        self.task = task
    }

    /// Starts a broker, runs `body`, and stops the broker whatever happens.
    static func with<Result>(
        redisURL: String? = nil,
        roles: Set<BrokerServer.Role> = [.api],
        agents: [AgentHost] = [],
        configure: (inout BrokerConfiguration) -> Void = { _ in },
        _ body: (BrokerHarness) async throws -> Result
    ) async throws -> Result {
        var configuration = BrokerConfiguration()
        configuration.listenPort = 0
        configuration.postgresURL = try TestEnvironment.postgresURL()
        configuration.redisURL = try redisURL ?? TestEnvironment.redisURL()
        configuration.redisKeyPrefix = "test-\(UInt32.random(in: 0...UInt32.max))"
        configuration.rateLimitPerUser = 10_000
        configuration.postgresMaxConnections = 8
        configuration.agents = agents.map { "\($0.name)=\($0.socketPath)" }.joined(separator: ",")
        configuration.jobLeaseSeconds = 3
        configuration.retryBackoffMilliseconds = 100
        // Notifications do the waking; the safety net is short only so that a dead
        // dispatcher's job (lease 3 s) is rescued quickly.
        configuration.safetyNetPollMilliseconds = 1000
        // Every harness shares one database, so any deliverer could send any test's webhooks:
        // only the webhook tests deliver (and count their own queries). They retry soon.
        configuration.webhookConcurrency = 0
        configuration.webhookRetryBaseMilliseconds = 100
        configuration.webhookRetryMaxMilliseconds = 1000
        configuration.webhookTimeoutMilliseconds = 2000
        configure(&configuration)
        var logger = Logger(label: "test.broker")
        logger.logLevel = .warning
        let server = try BrokerServer(
            configuration: configuration,
            keyStore: KeyStore(accessKeyring),
            agentKeyring: AgentHost.keyring,
            logger: logger
        )
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let task = Task {
            defer { continuation.finish() }
            try await server.run(roles: roles) { port in continuation.yield(port) }
        }
        let listening: Int?
        do {
            listening = try await FirstOutcome<Int?>.racing(
                timeout: Self.hangLimit,
                expired: { HarnessError("the broker neither listened nor stopped within \(Self.hangLimit)") }
            ) { await ports.first { _ in true } }
        } catch {
            task.cancel()
            throw error
        }
        guard let port = listening else {
            let error = await task.result
            throw HarnessError("the broker stopped before listening: \(error)")
        }
        let harness = BrokerHarness(
            server: server,
            port: port,
            redisURL: configuration.redisURL,
            keys: RedisKeys(prefix: configuration.redisKeyPrefix),
            task: task
        )
        do {
            let result = try await body(harness)
            await harness.stop()
            return result
        } catch {
            await harness.stop()
            throw error
        }
    }

    /// How long one request, or stopping the broker, may take before the test fails naming it:
    /// a hang anywhere must fail the run with a name, not hold CI until its own limit (once, a
    /// test's broker never finished and the whole suite waited on it).
    static let hangLimit: Duration = .seconds(60)

    private func stop() async {
        task.cancel()
        let task = self.task
        do {
            _ = try await FirstOutcome.racing(
                timeout: Self.hangLimit,
                expired: {
                    HarnessError("the broker did not stop within \(Self.hangLimit) of its cancellation")
                }
            ) { await task.result }
        } catch {
            Issue.record(error)
        }
    }

    // MARK: HTTP

    /// Sends a request, signed (with the web tier's key, or the key `key` names) unless
    /// `signed` is false.
    func send(
        _ method: String,
        _ target: String,
        body: [UInt8] = [],
        idempotencyKey: String? = nil,
        signed: Bool = true,
        key: String = "web-1",
        timestamp: Int64 = UnixTime.now(),
        extraHeaders: [(name: String, value: String)] = []
    ) async throws -> HTTP1Response {
        var headers = extraHeaders
        if signed {
            let signer =
                key == "web-1"
                ? self.signer
                : HTTPRequestSigner(key: try SigningKey(id: key, secret: Self.operatorSecret(key)))
            headers += signer.headers(method: method, target: target, body: body, timestamp: timestamp)
        }
        if let idempotencyKey { headers.append(("Idempotency-Key", idempotencyKey)) }
        let (port, sentHeaders) = (self.port, headers)
        return try await FirstOutcome.racing(
            timeout: Self.hangLimit,
            expired: { HarnessError("\(method) \(target): no answer within \(Self.hangLimit)") }
        ) {
            try await HTTP1Connection.withConnection(host: "127.0.0.1", port: port) { connection in
                try await connection.send(method: method, target: target, headers: sentHeaders, body: body)
            }
        }
    }

    func post(
        _ target: String,
        json: some Encodable,
        idempotencyKey: String? = nil,
        key: String = "web-1"
    ) async throws -> HTTP1Response {
        try await send("POST", target, body: Self.encode(json), idempotencyKey: idempotencyKey, key: key)
    }

    func rollback(_ request: RollbackRequest, idempotencyKey: String? = nil) async throws -> HTTP1Response {
        try await post("/v1/versions/rollback", json: request, idempotencyKey: idempotencyKey)
    }

    static func encode(_ value: some Encodable) -> [UInt8] {
        Array(try! JSONEncoder().encode(value))
    }

    static func decode<T: Decodable>(_ type: T.Type, _ response: HTTP1Response) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(type, from: Data(response.body))
        } catch {
            throw HarnessError(
                "cannot read \(type) from \(response.status) \(String(decoding: response.body, as: UTF8.self))"
            )
        }
    }

    /// The error code of an error response.
    static func errorCode(_ response: HTTP1Response) -> String? {
        (try? JSONDecoder().decode(APIErrorBody.self, from: Data(response.body)))?.error.code
    }

    // MARK: Fixtures

    /// A registered project (through the API) with two built versions, v2 current.
    struct Project {
        let id: String
        let user: String
        let v1: String
        let v2: String
    }

    func makeProject(host: String = "build-host-1", prefix: String = "p") async throws -> Project {
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let project = Project(
            id: "\(prefix)-\(suffix)",
            user: "u-\(suffix)",
            v1: "v1-\(suffix)",
            v2: "v2-\(suffix)"
        )
        let created = try await post(
            "/v1/projects",
            json: RegisterProjectRequest(projectID: project.id, userID: project.user, host: host)
        )
        try expectStatus(created, 201)
        for (index, version) in [project.v1, project.v2].enumerated() {
            let response = try await post(
                "/v1/projects/\(project.id)/versions",
                json: RegisterVersionRequest(
                    versionID: version,
                    artifactURL: "https://artifacts.example.com/\(project.id)/\(version).zip",
                    artifactSHA256: String(repeating: "\(index + 1)", count: 64),
                    artifactSize: 1000 + Int64(index),
                    previewURL: "https://\(version).preview.example.com",
                    deploymentID: "dep-\(version)"
                )
            )
            try expectStatus(response, 201)
        }
        return project
    }

    /// A project on `host` whose versions carry real artifacts (id → artifact), the last one current.
    func makeProject(
        host: String,
        versions: [(id: String, artifact: AgentHost.Artifact)]
    ) async throws -> String {
        let project = "p-\(UUID().uuidString.prefix(8).lowercased())"
        try expectStatus(
            try await post(
                "/v1/projects",
                json: RegisterProjectRequest(projectID: project, userID: "u-\(project)", host: host)
            ),
            201
        )
        for (id, artifact) in versions {
            try expectStatus(
                try await post(
                    "/v1/projects/\(project)/versions",
                    json: RegisterVersionRequest(
                        versionID: id,
                        artifactURL: artifact.url,
                        artifactSHA256: artifact.sha256,
                        artifactSize: artifact.size,
                        previewURL: "https://\(id).preview.example.com",
                        deploymentID: "dep-\(id)"
                    )
                ),
                201
            )
        }
        return project
    }

    /// Reads the project's event stream (from after `lastEventID`) until `enough` says so.
    func events(
        project: String,
        lastEventID: String? = nil,
        timeout: Duration = .seconds(30),
        until enough: @escaping @Sendable ([ServerSentEvent]) -> Bool
    ) async throws -> [ServerSentEvent] {
        let target = "/v1/projects/\(project)/events"
        var headers = signer.headers(method: "GET", target: target, body: [], timestamp: UnixTime.now())
        if let lastEventID { headers.append(("Last-Event-ID", lastEventID)) }
        let requestHeaders = headers
        let port = self.port
        return try await withThrowingTaskGroup(of: [ServerSentEvent]?.self) { group in
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            group.addTask {
                var parser = ServerSentEventParser()
                var events: [ServerSentEvent] = []
                try await HTTP1Connection.withConnection(host: "127.0.0.1", port: port) { connection in
                    try await connection.stream(method: "GET", target: target, headers: requestHeaders) {
                        part in
                        switch part {
                        case .head(let head):
                            guard head.status == 200 else {
                                throw HarnessError("event stream answered \(head.status)")
                            }
                            return true
                        case .body(let bytes):
                            events += parser.feed(bytes)
                            return !enough(events)
                        case .end:
                            return false
                        }
                    }
                }
                return events
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let events = first else {
                throw HarnessError("the event stream did not deliver what was expected within \(timeout)")
            }
            return events
        }
    }

    /// One column of one row, as text (NULL → nil).
    func value(_ sql: String) async throws -> String? {
        try await server.database.connection { connection in
            for try await value in try await connection.query(
                PostgresQuery(unsafeSQL: sql),
                logger: Self.logger
            ).decode(String?.self) {
                return value
            }
            return nil
        }
    }

    func expectStatus(_ response: HTTP1Response, _ status: Int) throws {
        guard response.status == status else {
            throw HarnessError(
                "expected \(status), got \(response.status): \(String(decoding: response.body, as: UTF8.self))"
            )
        }
    }

    // MARK: Direct checks of the stored state

    func count(_ sql: String) async throws -> Int {
        try await server.database.connection { connection in
            for try await value in try await connection.query(
                PostgresQuery(unsafeSQL: sql),
                logger: Self.logger
            ).decode(Int.self) {
                return value
            }
            return 0
        }
    }

    /// Everything stored about `project` but its audit rows, table by table (row count and a
    /// digest of the rows), for "nothing was written" checks: equal snapshots, same rows.
    func snapshot(project: String) async throws -> [String: String] {
        var tables: [String: String] = [:]
        for (table, column) in [
            ("projects", "id"), ("project_versions", "project_id"), ("jobs", "project_id"),
            ("events", "project_id"), ("held_builds", "project_id"), ("project_history", "project_id"),
        ] {
            tables[table] = try await value(
                "SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '-') FROM \(table) t WHERE \(column) = '\(project)'"
            )
        }
        return tables
    }

    func execute(_ sql: String) async throws {
        _ = try await server.database.connection { connection in
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Self.logger)
        }
    }

    func redis(_ arguments: [String]) async throws -> RedisReply {
        try await server.redis.command(arguments)
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
