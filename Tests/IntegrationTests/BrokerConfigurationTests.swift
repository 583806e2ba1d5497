import Foundation
import RollbackBroker
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
        var configuration = try BrokerConfiguration.load(file: path)
        #expect(configuration.listenPort == 9090)
        #expect(configuration.migrateOnStart == false)
        try configuration.applyEnvironment([
            "ROLLBACK_BROKER_LISTEN_PORT": "9191", "ROLLBACK_BROKER_RATE_LIMIT_PER_USER": "5",
        ])
        #expect(configuration.listenPort == 9191)
        #expect(configuration.rateLimitPerUser == 5)
        #expect(configuration.redisURL == "redis://10.0.0.5:6380")
        try configuration.validate()

        #expect(throws: BrokerConfigurationError.self) { try configuration.set("listenPort", to: "99999") }
        #expect(throws: BrokerConfigurationError.self) { try configuration.set("rateLimitPerUser", to: "-1") }
        var tooShort = configuration
        try tooShort.set("idempotencyTTLSeconds", to: "3600")
        #expect(
            throws: BrokerConfigurationError(
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
        #expect(throws: BrokerConfigurationError(field: "listenPrt", message: "unknown field in \(path)")) {
            try BrokerConfiguration.load(file: path)
        }
    }

    @Test("rollback-broker: a bad setting is one line naming the field, and exit code 2")
    func commandLineErrors() throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("rollback-broker").path
        for (arguments, expected) in [
            (["serve", "--set", "listenPort=abc"], "listenPort"),
            (["serve", "--keyring", "/nonexistent/keyring.json"], "keyringFile"),
            (["migrate", "--postgres-url", "http://nope"], "postgresURL"),
        ] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = arguments
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let output = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 2, "\(arguments)")
            #expect(
                output.hasPrefix("rollback-broker: configuration: \(expected):"),
                "\(arguments): \(output)"
            )
            #expect(output.split(separator: "\n").count == 1, "\(arguments): \(output)")
        }
    }
}
