import Foundation
import RollbackProtocol

/// Everything `rollback-broker` can be configured with. Read from a JSON file, then from
/// `ROLLBACK_BROKER_*` environment variables, then from flags; later sources win.
public struct BrokerConfiguration: Codable, Sendable, Equatable {
    public var listenHost: String = "127.0.0.1"
    public var listenPort: Int = 8080
    public var postgresURL: String = "postgres://rollback@127.0.0.1:5432/rollback"
    public var postgresMaxConnections: Int = 20
    public var redisURL: String = "redis://127.0.0.1:6379"
    /// Prefix of every Redis key, so several deployments can share one Redis.
    public var redisKeyPrefix: String = "rollback"
    /// The web tier's and build system's signing keys (JSON keyring; mode 600).
    public var keyringFile: String = "/etc/rollback/broker-keyring.json"
    public var maxRollbackDurationSeconds: Int = 1800
    /// How long an Idempotency-Key and its answer are kept (published in spec/openapi.yaml).
    public var idempotencyTTLSeconds: Int = 86_400
    public var rateLimitPerUser: Int = 60
    public var rateLimitWindowSeconds: Int = 60
    public var signatureWindowSeconds: Int = 300
    /// How long a request may wait for PostgreSQL before it is answered with 503.
    public var databaseTimeoutMilliseconds: Int = 5000
    /// Apply missing migrations when `serve` starts (otherwise run `rollback-broker migrate`).
    public var migrateOnStart: Bool = true
    public var logLevel: String = "info"
    /// Prefix of every Prometheus metric name (`<prefix>_rollback_duration_seconds`).
    public var metricsPrefix: String = "rollback"
    /// How often an open event stream looks for new events.
    public var eventPollMilliseconds: Int = 250

    // MARK: Dispatcher (`dispatch` and `run`)

    /// The agents this dispatcher serves: `host=socket` or `host=agentID@socket`, comma-separated.
    public var agents: String = ""
    /// Keyring with a key the agents accept (JSON; mode 600).
    public var agentKeyringFile: String = "/etc/rollback/agent-keyring.json"
    /// Jobs one dispatcher runs at once.
    public var dispatchConcurrency: Int = 4
    /// A claimed job's lease; renewed every third of it. A dead dispatcher's job is rescued
    /// after at most this long.
    public var jobLeaseSeconds: Int = 30
    public var dispatchPollMilliseconds: Int = 250
    /// First retry delay of a retryable failure; doubled per attempt, at most 30 s.
    public var retryBackoffMilliseconds: Int = 1000

    public init() {}

    /// The fields settable by environment and flags, by their JSON names.
    public static let fieldNames = [
        "listenHost", "listenPort", "postgresURL", "postgresMaxConnections", "redisURL", "redisKeyPrefix",
        "keyringFile", "maxRollbackDurationSeconds", "idempotencyTTLSeconds", "rateLimitPerUser",
        "rateLimitWindowSeconds", "signatureWindowSeconds", "databaseTimeoutMilliseconds", "migrateOnStart",
        "logLevel", "metricsPrefix", "eventPollMilliseconds", "agents", "agentKeyringFile",
        "dispatchConcurrency",
        "jobLeaseSeconds", "dispatchPollMilliseconds", "retryBackoffMilliseconds",
    ]

    /// `postgresURL` → `ROLLBACK_BROKER_POSTGRES_URL`, `listenPort` → `ROLLBACK_BROKER_LISTEN_PORT`.
    public static func environmentName(of field: String) -> String {
        // Words start at an upper-case letter after a lower-case one, or at the last capital of
        // an acronym: idempotencyTTLSeconds → IDEMPOTENCY_TTL_SECONDS.
        let characters = Array(field)
        var name = "ROLLBACK_BROKER_"
        for (index, character) in characters.enumerated() {
            if index > 0, character.isUppercase {
                let previous = characters[index - 1]
                let next = index + 1 < characters.count ? characters[index + 1] : nil
                if previous.isLowercase || (previous.isUppercase && next?.isLowercase == true) { name += "_" }
            }
            name += character.uppercased()
        }
        return name
    }

    /// Reads a configuration file (JSON). Unknown keys are refused, so a typo is not ignored.
    public static func load(file path: String) throws(BrokerConfigurationError) -> BrokerConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BrokerConfigurationError(field: "config", message: "cannot read \(path)")
        }
        guard let object = try? JSONDecoder().decode([String: JSONValue].self, from: data) else {
            throw BrokerConfigurationError(field: "config", message: "\(path) is not a JSON object")
        }
        var configuration = BrokerConfiguration()
        for key in object.keys.sorted() {
            guard fieldNames.contains(key) else {
                throw BrokerConfigurationError(field: key, message: "unknown field in \(path)")
            }
            let text: String
            switch object[key]! {
            case .string(let string): text = string
            case .bool(let flag): text = flag ? "true" : "false"
            case .number(let number) where number == number.rounded(): text = String(Int(number))
            default:
                throw BrokerConfigurationError(
                    field: key,
                    message: "must be a string, integer or boolean in \(path)"
                )
            }
            try configuration.set(key, to: text)
        }
        return configuration
    }

    /// Applies `ROLLBACK_BROKER_*` variables from `environment`.
    public mutating func applyEnvironment(_ environment: [String: String]) throws(BrokerConfigurationError) {
        for field in Self.fieldNames {
            if let value = environment[Self.environmentName(of: field)] { try set(field, to: value) }
        }
    }

    /// Sets one field from its textual form (as in the environment or a flag).
    public mutating func set(_ field: String, to text: String) throws(BrokerConfigurationError) {
        func positive() throws(BrokerConfigurationError) -> Int {
            guard let value = Int(text.trimmingCharacters(in: .whitespaces)), value > 0 else {
                throw BrokerConfigurationError(
                    field: field,
                    message: "must be a positive integer, got \"\(text)\""
                )
            }
            return value
        }
        switch field {
        case "listenHost": listenHost = text
        case "listenPort":
            guard let port = Int(text), (0...65535).contains(port) else {
                throw BrokerConfigurationError(
                    field: field,
                    message: "must be a port number 0–65535, got \"\(text)\""
                )
            }
            listenPort = port
        case "postgresURL": postgresURL = text
        case "postgresMaxConnections": postgresMaxConnections = try positive()
        case "redisURL": redisURL = text
        case "redisKeyPrefix": redisKeyPrefix = text
        case "keyringFile": keyringFile = text
        case "maxRollbackDurationSeconds": maxRollbackDurationSeconds = try positive()
        case "idempotencyTTLSeconds": idempotencyTTLSeconds = try positive()
        case "rateLimitPerUser": rateLimitPerUser = try positive()
        case "rateLimitWindowSeconds": rateLimitWindowSeconds = try positive()
        case "signatureWindowSeconds": signatureWindowSeconds = try positive()
        case "databaseTimeoutMilliseconds": databaseTimeoutMilliseconds = try positive()
        case "migrateOnStart":
            guard let value = ["true": true, "false": false, "1": true, "0": false][text.lowercased()] else {
                throw BrokerConfigurationError(
                    field: field,
                    message: "must be true or false, got \"\(text)\""
                )
            }
            migrateOnStart = value
        case "logLevel":
            guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(text) else {
                throw BrokerConfigurationError(
                    field: field,
                    message: "must be one of trace, debug, info, notice, warning, error, critical"
                )
            }
            logLevel = text
        case "metricsPrefix":
            guard text.range(of: "^[a-zA-Z_][a-zA-Z0-9_]*$", options: .regularExpression) != nil else {
                throw BrokerConfigurationError(
                    field: field,
                    message: "must be a Prometheus name: letters, digits and _, not starting with a digit"
                )
            }
            metricsPrefix = text
        case "eventPollMilliseconds": eventPollMilliseconds = try positive()
        case "agents":
            _ = try AgentDirectory(parsing: text)
            agents = text
        case "agentKeyringFile": agentKeyringFile = text
        case "dispatchConcurrency": dispatchConcurrency = try positive()
        case "jobLeaseSeconds":
            let seconds = try positive()
            guard seconds >= 3 else {
                throw BrokerConfigurationError(
                    field: field,
                    message: "must be at least 3 (renewed every third)"
                )
            }
            jobLeaseSeconds = seconds
        case "dispatchPollMilliseconds": dispatchPollMilliseconds = try positive()
        case "retryBackoffMilliseconds": retryBackoffMilliseconds = try positive()
        default: throw BrokerConfigurationError(field: field, message: "unknown field")
        }
    }

    /// Checks the service URLs and limits; the first problem names its field.
    public func validate() throws(BrokerConfigurationError) {
        do {
            _ = try PostgresEndpoint(url: postgresURL)
        } catch {
            throw BrokerConfigurationError(field: "postgresURL", message: error.description)
        }
        do {
            _ = try RedisEndpoint(url: redisURL)
        } catch {
            throw BrokerConfigurationError(field: "redisURL", message: error.description)
        }
        guard idempotencyTTLSeconds >= 86_400 else {
            throw BrokerConfigurationError(
                field: "idempotencyTTLSeconds",
                message: "must be at least 86400 (24 h): clients are promised a day of safe retries"
            )
        }
    }

    /// The request-handling knobs.
    public var settings: BrokerSettings {
        var settings = BrokerSettings()
        settings.maxRollbackDurationSeconds = maxRollbackDurationSeconds
        settings.idempotencyTTLSeconds = idempotencyTTLSeconds
        settings.rateLimitPerUser = rateLimitPerUser
        settings.rateLimitWindowSeconds = Int64(rateLimitWindowSeconds)
        settings.signatureWindowSeconds = Int64(signatureWindowSeconds)
        settings.eventPollInterval = .milliseconds(eventPollMilliseconds)
        return settings
    }

    /// The dispatcher's knobs; `owner` names this dispatcher in the leases it takes.
    public func dispatchSettings(owner: String) -> DispatchSettings {
        var settings = DispatchSettings(owner: owner)
        settings.leaseSeconds = jobLeaseSeconds
        settings.pollInterval = .milliseconds(dispatchPollMilliseconds)
        settings.concurrency = dispatchConcurrency
        settings.retryBackoff = .milliseconds(retryBackoffMilliseconds)
        settings.lockTTLSeconds = maxRollbackDurationSeconds + 60
        return settings
    }
}

/// A configuration problem: which field, and what is wrong with it.
public struct BrokerConfigurationError: Error, Equatable, CustomStringConvertible {
    public let field: String
    public let message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "configuration: \(field): \(message)" }
}
