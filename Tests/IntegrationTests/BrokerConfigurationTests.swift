import Foundation
import RollbackBroker
import RollbackRuntime
import TestSupport
import Testing

@Suite("rollback-broker configuration")
struct BrokerConfigurationTests {
    @Test("environment variable names follow the field names")
    func environmentNames() {
        #expect(BrokerConfiguration.environmentName(of: "postgresURL") == "ROLLBACK_BROKER_POSTGRES_URL")
        #expect(BrokerConfiguration.environmentName(of: "listenPort") == "ROLLBACK_BROKER_LISTEN_PORT")
        #expect(
            BrokerConfiguration.environmentName(of: "idempotencyTTLSeconds")
                == "ROLLBACK_BROKER_IDEMPOTENCY_TTL_SECONDS"
        )
        #expect(
            BrokerConfiguration.environmentName(of: "maxRollbackDurationSeconds")
                == "ROLLBACK_BROKER_MAX_ROLLBACK_DURATION_SECONDS"
        )
    }

    @Test("file, then environment; each bad value names its field")
    func layering() throws {
        let path = NSTemporaryDirectory() + "broker-config-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(#"{"listenPort": 9090, "migrateOnStart": false, "redisURL": "redis://10.0.0.5:6380"}"#.utf8)
            .write(to: URL(fileURLWithPath: path))
        var loader = ConfigurationLoader<BrokerConfiguration>()
        try loader.apply(file: path)
        #expect(loader.configuration.listenPort == 9090)
        #expect(loader.configuration.migrateOnStart == false)
        try loader.apply(environment: [
            "ROLLBACK_BROKER_LISTEN_PORT": "9191", "ROLLBACK_BROKER_RATE_LIMIT_PER_USER": "5",
        ])
        var configuration = loader.configuration
        #expect(configuration.listenPort == 9191)
        #expect(configuration.rateLimitPerUser == 5)
        #expect(configuration.redisURL == "redis://10.0.0.5:6380")
        try configuration.validate()

        #expect(throws: ConfigurationError.self) { try configuration.set("listenPort", to: "99999") }
        #expect(throws: ConfigurationError.self) { try configuration.set("rateLimitPerUser", to: "-1") }
        var tooShort = configuration
        try tooShort.set("idempotencyTTLSeconds", to: "3600")
        #expect(
            throws: ConfigurationError(
                field: "idempotencyTTLSeconds",
                message: "must be at least 86400 (24 h): clients are promised a day of safe retries"
            )
        ) { try tooShort.validate() }
        var badURL = configuration
        try badURL.set("postgresURL", to: "mysql://x")
        do {
            try badURL.validate()
            Issue.record("a mysql:// URL was accepted")
        } catch {
            #expect(error.field == "postgresURL")
        }
        try Data(#"{"listenPrt": 1}"#.utf8).write(to: URL(fileURLWithPath: path))
        #expect(
            throws: ConfigurationError(
                field: "listenPrt",
                message: "unknown field",
                source: .file(path: path)
            )
        ) {
            try ConfigurationLoader<BrokerConfiguration>.load(file: path, environment: [:])
        }
    }

    @Test("rollback-broker: a bad setting is one line naming the field, and exit code 2")
    func commandLineErrors() async throws {
        for (arguments, expected) in [
            (["serve", "--set", "listenPort=abc"], "listenPort"),
            (["serve", "--keyring", "/nonexistent/keyring.json"], "keyringFile"),
            (["migrate", "--postgres-url", "http://nope"], "postgresURL"),
        ] {
            let run = try await CLITests.run("rollback-broker", arguments)
            let output = run.stderr
            #expect(run.status == 2, "\(arguments)")
            #expect(
                output.hasPrefix("rollback-broker: configuration: \(expected) "),
                "\(arguments): \(output)"
            )
            #expect(output.split(separator: "\n").count == 1, "\(arguments): \(output)")
        }
    }
}

@Suite("rollback-broker fails fast, and says where")
struct BrokerStartupTests {
    /// The test PostgreSQL's URL with another password.
    static func urlWithPassword(_ password: String) throws -> (url: String, components: URLComponents) {
        var components = try #require(URLComponents(string: try TestEnvironment.postgresURL()))
        components.password = password
        return (components.string!, components)
    }

    @Test("migrate against a wrong password: exit 1 within 30 s, one line naming host, port, database, user")
    func wrongPassword() async throws {
        let (url, components) = try Self.urlWithPassword("not-the-password")
        let started = ContinuousClock.now
        let run = try await CLITests.run("rollback-broker", ["migrate", "--postgres-url", url])
        let elapsed = ContinuousClock.now - started
        #expect(run.status == 1, "\(run.stderr)")
        #expect(elapsed < .seconds(30))
        let lines = run.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(run.stderr)")
        let line = String(lines.first ?? "")
        #expect(line.hasPrefix("rollback-broker: "))
        #expect(line.contains("\(components.host!):\(components.port!)"))
        #expect(line.contains("database rollback") && line.contains("user rollback"))
        #expect(line.contains("wrong password"))
        #expect(!line.contains("not-the-password"))
    }

    @Test("serve with PostgreSQL unreachable: exit 1 after startupTimeoutSeconds, naming where it looked")
    func unreachable() async throws {
        let started = ContinuousClock.now
        let run = try await CLITests.run(
            "rollback-broker",
            [
                "migrate", "--postgres-url", "postgres://rollback:secret@127.0.0.1:1/rollback", "--set",
                "startupTimeoutSeconds=2",
            ]
        )
        let elapsed = ContinuousClock.now - started
        #expect(run.status == 1, "\(run.stderr)")
        #expect(elapsed < .seconds(15))
        let lines = run.stderr.split(separator: "\n").filter { $0.hasPrefix("rollback-broker: ") }
        #expect(lines.count == 1, "\(run.stderr)")
        #expect(
            lines.first?.contains("cannot reach PostgreSQL at 127.0.0.1:1 (database rollback, user rollback)")
                == true
        )
        #expect(!run.stderr.contains("secret"))
    }

    @Test("serve on a port in use: exit 1 naming the address")
    func portInUse() async throws {
        let directory = TemporaryFiles.directory(prefix: "rbk-port")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let keyring = BrokerHarness.writeClientKeyring(in: directory)
        // PostgreSQL's own port is certainly taken on 127.0.0.1.
        let port = try #require(URLComponents(string: try TestEnvironment.postgresURL())?.port)
        let run = try await CLITests.run(
            "rollback-broker",
            [
                "serve", "--postgres-url", try TestEnvironment.postgresURL(), "--redis-url",
                try TestEnvironment.redisURL(), "--keyring", keyring, "--port", String(port),
            ]
        )
        #expect(run.status == 1, "\(run.stderr)")
        #expect(
            run.stderr.contains("cannot listen on 127.0.0.1:\(port): the address is in use"),
            "\(run.stderr)"
        )
    }
}
