import Foundation
import RollbackProtocol
public import RollbackRuntime

/// Everything `rollback-broker` can be configured with. Read by `ConfigurationLoader` from a
/// JSON file, then `ROLLBACK_BROKER_*` environment variables, then flags; later sources win.
public struct BrokerConfiguration: Configurable, Codable, Equatable {
    public static let environmentPrefix = "ROLLBACK_BROKER"

    public var listenHost: String = "127.0.0.1"
    public var listenPort: Int = 8080
    /// PEM certificate chain and private key: with both set, the API listener speaks only TLS
    /// (both are read again on SIGHUP).
    public var tlsCertificateFile: String = ""
    public var tlsKeyFile: String = ""
    /// `host:port` (or a port, on loopback) of a separate plain-HTTP listener for `/healthz`,
    /// `/readyz` and `/metrics` (then no longer served on the API listener); empty: they stay on
    /// the API listener.
    public var adminListen: String = ""
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
    /// How long a project's history is kept (`GET /v1/projects/{id}/history`).
    public var historyRetentionDays: Int = 365
    public var rateLimitPerUser: Int = 60
    public var rateLimitWindowSeconds: Int = 60
    public var signatureWindowSeconds: Int = 300
    /// How long a request may wait for PostgreSQL before it is answered with 503.
    public var databaseTimeoutMilliseconds: Int = 5000
    /// Apply missing migrations when `serve` starts (otherwise run `rollback-broker migrate`).
    public var migrateOnStart: Bool = true
    public var logLevel: String = "info"
    /// `text` or `json` (one object per line).
    public var logFormat: LogFormat = .text
    /// How long `serve`, `dispatch`, `run` and `migrate` wait for PostgreSQL at start before
    /// they give up with exit code 1 and a line naming host, port, database and user.
    public var startupTimeoutSeconds: Int = 30
    /// OTLP/HTTP collector for this process's spans (`http://127.0.0.1:4318`); empty: off.
    public var tracesEndpoint: String = ""
    /// `http/protobuf` or `http/json`.
    public var tracesProtocol: String = "http/protobuf"
    /// Prefix of every Prometheus metric name (`<prefix>_duration_seconds`, default `rollback`).
    public var metricsPrefix: String = "rollback"

    // MARK: Dispatcher (`dispatch` and `run`)

    /// Changes arrive as PostgreSQL notifications; this is the safety net: how often a
    /// dispatcher looks for due jobs and expired leases anyway, how often the listening
    /// connection is pinged, and how often event streams read while it is down.
    public var safetyNetPollMilliseconds: Int = 5000
    /// The agents this dispatcher serves: `host=socket` or `host=agentID@socket`, comma-separated.
    public var agents: String = ""
    /// Keyring with a key the agents accept (JSON; mode 600).
    public var agentKeyringFile: String = "/etc/rollback/agent-keyring.json"
    /// Jobs one dispatcher runs at once.
    public var dispatchConcurrency: Int = 4
    /// A claimed job's lease; renewed every third of it. A dead dispatcher's job is rescued
    /// after at most this long.
    public var jobLeaseSeconds: Int = 30
    /// First retry delay of a retryable failure; doubled per attempt, at most 30 s.
    public var retryBackoffMilliseconds: Int = 1000

    // MARK: Webhooks (`serve` and `run`)

    /// Subscriptions one broker process delivers to at once (each in event order); 0: this
    /// process sends no webhooks (the other API instances do).
    public var webhookConcurrency: Int = 4
    /// How long a receiver may take to answer one delivery.
    public var webhookTimeoutMilliseconds: Int = 10_000
    /// First retry delay of a failed delivery; doubled per attempt up to `webhookRetryMaxMilliseconds`.
    public var webhookRetryBaseMilliseconds: Int = 1000
    public var webhookRetryMaxMilliseconds: Int = 3_600_000
    /// A subscription whose deliveries have failed this long is disabled (with an audit row).
    public var webhookGiveUpSeconds: Int = 86_400

    public init() {}

    /// The fields settable by environment and flags, by their JSON names.
    public static let fieldNames = [
        "listenHost", "listenPort", "tlsCertificateFile", "tlsKeyFile", "adminListen", "postgresURL",
        "postgresMaxConnections", "redisURL", "redisKeyPrefix",
        "keyringFile", "maxRollbackDurationSeconds", "idempotencyTTLSeconds", "historyRetentionDays",
        "rateLimitPerUser",
        "rateLimitWindowSeconds", "signatureWindowSeconds", "databaseTimeoutMilliseconds", "migrateOnStart",
        "logLevel", "logFormat", "startupTimeoutSeconds", "tracesEndpoint", "tracesProtocol", "metricsPrefix",
        "safetyNetPollMilliseconds", "agents",
        "agentKeyringFile",
        "dispatchConcurrency",
        "jobLeaseSeconds", "retryBackoffMilliseconds",
        "webhookConcurrency", "webhookTimeoutMilliseconds", "webhookRetryBaseMilliseconds",
        "webhookRetryMaxMilliseconds", "webhookGiveUpSeconds",
    ]

    /// Sets one field from its textual form (as in the environment or a flag).
    public mutating func set(_ field: String, to text: String) throws(ConfigurationError) {
        func positive() throws(ConfigurationError) -> Int {
            guard let value = Int(text.trimmingCharacters(in: .whitespaces)), value > 0 else {
                throw ConfigurationError(
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
                throw ConfigurationError(
                    field: field,
                    message: "must be a port number 0–65535, got \"\(text)\""
                )
            }
            listenPort = port
        case "tlsCertificateFile": tlsCertificateFile = text
        case "tlsKeyFile": tlsKeyFile = text
        case "adminListen":
            guard text.isEmpty || Self.hostAndPort(text) != nil else {
                throw ConfigurationError(
                    field: field,
                    message: "must be host:port (127.0.0.1:9090) or a port (on loopback), got \"\(text)\""
                )
            }
            adminListen = text
        case "postgresURL": postgresURL = text
        case "postgresMaxConnections": postgresMaxConnections = try positive()
        case "redisURL": redisURL = text
        case "redisKeyPrefix": redisKeyPrefix = text
        case "keyringFile": keyringFile = text
        case "maxRollbackDurationSeconds": maxRollbackDurationSeconds = try positive()
        case "idempotencyTTLSeconds": idempotencyTTLSeconds = try positive()
        case "historyRetentionDays": historyRetentionDays = try positive()
        case "rateLimitPerUser": rateLimitPerUser = try positive()
        case "rateLimitWindowSeconds": rateLimitWindowSeconds = try positive()
        case "signatureWindowSeconds": signatureWindowSeconds = try positive()
        case "databaseTimeoutMilliseconds": databaseTimeoutMilliseconds = try positive()
        case "migrateOnStart":
            guard let value = ["true": true, "false": false, "1": true, "0": false][text.lowercased()] else {
                throw ConfigurationError(
                    field: field,
                    message: "must be true or false, got \"\(text)\""
                )
            }
            migrateOnStart = value
        case "logLevel":
            try LogLevelRule.check(text)
            logLevel = text
        case "logFormat": logFormat = try LogFormat.parse(text)
        case "tracesEndpoint": tracesEndpoint = try TracingRules.endpoint(text)
        case "tracesProtocol": tracesProtocol = try TracingRules.protocolName(text)
        case "startupTimeoutSeconds": startupTimeoutSeconds = try positive()
        case "metricsPrefix":
            guard text.range(of: "^[a-zA-Z_][a-zA-Z0-9_]*$", options: .regularExpression) != nil else {
                throw ConfigurationError(
                    field: field,
                    message: "must be a Prometheus name: letters, digits and _, not starting with a digit"
                )
            }
            metricsPrefix = text
        case "safetyNetPollMilliseconds": safetyNetPollMilliseconds = try positive()
        case "agents":
            _ = try AgentDirectory(parsing: text)
            agents = text
        case "agentKeyringFile": agentKeyringFile = text
        case "dispatchConcurrency": dispatchConcurrency = try positive()
        case "jobLeaseSeconds":
            let seconds = try positive()
            guard seconds >= 3 else {
                throw ConfigurationError(
                    field: field,
                    message: "must be at least 3 (renewed every third)"
                )
            }
            jobLeaseSeconds = seconds
        case "retryBackoffMilliseconds": retryBackoffMilliseconds = try positive()
        case "webhookConcurrency":
            webhookConcurrency = try ConfigurationError.zeroOrMore(text, field: field, zeroMeans: "send none")
        case "webhookTimeoutMilliseconds": webhookTimeoutMilliseconds = try positive()
        case "webhookRetryBaseMilliseconds": webhookRetryBaseMilliseconds = try positive()
        case "webhookRetryMaxMilliseconds": webhookRetryMaxMilliseconds = try positive()
        case "webhookGiveUpSeconds": webhookGiveUpSeconds = try positive()
        default: throw ConfigurationError(field: field, message: "unknown field")
        }
    }

    /// Checks the service URLs and limits; the first problem names its field.
    public func validate() throws(ConfigurationError) {
        do {
            _ = try PostgresEndpoint(url: postgresURL)
        } catch {
            throw ConfigurationError(field: "postgresURL", message: error.description)
        }
        do {
            _ = try RedisEndpoint(url: redisURL)
        } catch {
            throw ConfigurationError(field: "redisURL", message: error.description)
        }
        guard tlsCertificateFile.isEmpty == tlsKeyFile.isEmpty else {
            throw ConfigurationError(
                field: tlsCertificateFile.isEmpty ? "tlsCertificateFile" : "tlsKeyFile",
                message: "TLS needs both tlsCertificateFile and tlsKeyFile"
            )
        }
        guard idempotencyTTLSeconds >= 86_400 else {
            throw ConfigurationError(
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
        settings.historyRetentionDays = historyRetentionDays
        settings.rateLimitPerUser = rateLimitPerUser
        settings.rateLimitWindowSeconds = Int64(rateLimitWindowSeconds)
        settings.signatureWindowSeconds = Int64(signatureWindowSeconds)
        settings.safetyNetPoll = .milliseconds(safetyNetPollMilliseconds)
        settings.secureCookies = !tlsCertificateFile.isEmpty
        return settings
    }

    /// `host:port` split (a bare port means loopback: `9090` is `127.0.0.1:9090`); nil unless
    /// the port is 0–65535 and the host is not empty.
    static func hostAndPort(_ text: String) -> (host: String, port: Int)? {
        if let port = Int(text), (0...65535).contains(port) { return ("127.0.0.1", port) }
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port), colon > text.startIndex
        else { return nil }
        return (String(text[..<colon]), port)
    }

    /// The webhook deliverer's knobs; `owner` names this process in the leases it takes.
    public func webhookSettings(owner: String) -> WebhookSettings {
        WebhookSettings(
            owner: owner,
            concurrency: webhookConcurrency,
            timeout: .milliseconds(webhookTimeoutMilliseconds),
            retryBase: .milliseconds(webhookRetryBaseMilliseconds),
            retryMax: .milliseconds(webhookRetryMaxMilliseconds),
            giveUpSeconds: webhookGiveUpSeconds,
            safetyNetPoll: .milliseconds(safetyNetPollMilliseconds)
        )
    }

    /// The dispatcher's knobs; `owner` names this dispatcher in the leases it takes.
    public func dispatchSettings(owner: String) -> DispatchSettings {
        var settings = DispatchSettings(owner: owner)
        settings.leaseSeconds = jobLeaseSeconds
        settings.safetyNetPoll = .milliseconds(safetyNetPollMilliseconds)
        settings.concurrency = dispatchConcurrency
        settings.retryBackoff = .milliseconds(retryBackoffMilliseconds)
        settings.lockTTLSeconds = maxRollbackDurationSeconds + 60
        return settings
    }
}
