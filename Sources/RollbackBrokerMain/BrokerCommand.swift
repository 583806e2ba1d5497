import ArgumentParser
import Foundation
import Logging
import RollbackBroker
import RollbackProtocol
import RollbackRuntime
import RollbackTelemetry
import ServiceLifecycle

@main
struct BrokerCommand: AsyncParsableCommand {
    static func main() async { await CommandMain.run(Self.self) }

    static let configuration = CommandConfiguration(
        commandName: "rollback-broker",
        abstract: "The Rollback broker: HTTP API, PostgreSQL state, Redis locks.",
        discussion: """
            The web tier asks the broker to roll a project back (POST /v1/versions/rollback); the \
            broker switches the preview at once, records the rollback and its sync job in one \
            PostgreSQL transaction, and answers. The API is described in spec/openapi.yaml. A \
            dispatcher on each build host then runs the job through that host's agent.

            Roles: `serve` (HTTP API), `dispatch` (job runner for the agents it is given), `run` \
            (both, for a single host).

            Configuration comes from a JSON file (--config), then from ROLLBACK_BROKER_* \
            environment variables (ROLLBACK_BROKER_POSTGRES_URL, ROLLBACK_BROKER_REDIS_URL, \
            ROLLBACK_BROKER_KEYRING_FILE, ...), then from flags; later sources win.

            Exit codes: 0 after a clean stop, 1 on a runtime failure (PostgreSQL unreachable \
            within startupTimeoutSeconds, a port in use), 2 on bad usage or a configuration error.
            """,
        version: BuildInfo.versionLine,
        subcommands: [Serve.self, Dispatch.self, Run.self, Migrate.self, PrintConfig.self],
        defaultSubcommand: nil
    )
}

/// Options every subcommand shares.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: "JSON configuration file.")
    var config: String?

    @Option(name: .long, help: "PostgreSQL URL, postgres://user:password@host:port/database.")
    var postgresURL: String?

    @Option(name: .long, help: "Redis URL, redis://host:port.")
    var redisURL: String?

    @Option(name: .long, help: "Keyring file of the callers' signing keys (JSON; mode 600).")
    var keyring: String?

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String?

    @Option(name: .long, help: "Set any configuration field, as field=value (repeatable).")
    var set: [String] = []

    /// The configuration from file, environment, these flags, `extraFlags` and `--set`.
    func effectiveConfiguration(
        extraFlags: [(field: String, flag: String, value: String?)] = []
    ) throws(ConfigurationError) -> BrokerConfiguration {
        try load(extraFlags: extraFlags).configuration
    }

    /// The loader, which also knows where each value came from.
    func load(
        extraFlags: [(field: String, flag: String, value: String?)] = []
    ) throws(ConfigurationError) -> ConfigurationLoader<BrokerConfiguration> {
        try ConfigurationLoader<BrokerConfiguration>.load(
            file: config,
            environment: ProcessInfo.processInfo.environment,
            flags: [
                ("postgresURL", "--postgres-url", postgresURL), ("redisURL", "--redis-url", redisURL),
                ("keyringFile", "--keyring", keyring), ("logLevel", "--log-level", logLevel),
            ] + extraFlags,
            assignments: set
        )
    }

    /// Logging alone (`migrate`, which has no tracing).
    func logger(_ configuration: BrokerConfiguration) -> Logger {
        LoggingSetup.bootstrap(level: configuration.logLevel, format: configuration.logFormat)
        return Logger(label: "rollback.broker")
    }
}

/// Prints `rollback-broker: <message>` and exits with `code`.
func fail(_ message: String, code: Int32) -> ExitCode {
    FileHandle.standardError.write(Data("rollback-broker: \(message)\n".utf8))
    return ExitCode(code)
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the HTTP API until SIGTERM or SIGINT (requests in flight are finished).",
        discussion: """
            Example:
              ROLLBACK_BROKER_POSTGRES_URL=postgres://rollback:secret@127.0.0.1/rollback \\
              rollback-broker serve --redis-url redis://127.0.0.1:6379 --keyring /etc/rollback/broker-keyring.json --port 8080
            """
    )

    @OptionGroup var options: CommonOptions

    @OptionGroup var listen: ListenOptions

    @OptionGroup(title: "Agents (optional: for previews and cancels from this instance)")
    var agents: DispatchOptions

    func run() async throws {
        try await runBroker(roles: [.api], options: options, dispatch: agents, listen: listen)
    }
}

/// Where a role listens: the whole API (`serve`, `run`), or health and metrics only (`dispatch`).
struct ListenOptions: ParsableArguments {
    @Option(name: .long, help: "Address to listen on (default 127.0.0.1).")
    var host: String?

    @Option(name: .long, help: "Port to listen on (default 8080; 0 picks a free one).")
    var port: Int?

    var flags: [(field: String, flag: String, value: String?)] {
        [("listenHost", "--host", host), ("listenPort", "--port", port.map(String.init))]
    }
}

/// Options of the roles that run jobs.
struct DispatchOptions: ParsableArguments {
    @Option(
        name: .long,
        help:
            "An agent to dispatch to, as host=socket or host=agentID@socket (repeatable; or config `agents`)."
    )
    var agent: [String] = []

    @Option(name: .long, help: "Keyring file with a key the agents accept (JSON; mode 600).")
    var agentKeyring: String?

    var flags: [(field: String, flag: String, value: String?)] {
        [
            ("agents", "--agent", agent.isEmpty ? nil : agent.joined(separator: ",")),
            ("agentKeyringFile", "--agent-keyring", agentKeyring),
        ]
    }
}

/// Loads everything a role needs, runs it, and maps failures to the documented exit codes.
func runBroker(
    roles: Set<BrokerServer.Role>,
    options: CommonOptions,
    dispatch: DispatchOptions?,
    listen: ListenOptions
) async throws {
    let configuration: BrokerConfiguration
    let keyStore: KeyStore
    var agentKeyring: Keyring?
    do {
        let loader = try options.load(extraFlags: listen.flags + (dispatch?.flags ?? []))
        configuration = loader.configuration
        if roles.contains(.dispatch), configuration.agents.isEmpty {
            throw ConfigurationError(field: "agents", message: "give at least one --agent host=socket")
        }
        do {
            keyStore = try KeyStore(path: configuration.keyringFile)
        } catch {
            throw ConfigurationError(
                field: "keyringFile",
                message: error.message,
                source: loader.sources["keyringFile"] ?? .defaultValue
            )
        }
        // The API reaches agents too (previews, cancels) when it is given their addresses.
        if roles.contains(.dispatch) || !configuration.agents.isEmpty {
            agentKeyring = try KeyringFile.load(
                configuration.agentKeyringFile,
                field: "agentKeyringFile",
                source: loader.sources["agentKeyringFile"] ?? .defaultValue
            )
        }
    } catch {
        throw fail("\(error)", code: ExitStatus.usage)
    }
    let tracing: (any Service)?
    do {
        tracing = try TracingSetup.bootstrapWithLogging(
            serviceName: "rollback-broker",
            endpoint: configuration.tracesEndpoint,
            protocol: configuration.tracesProtocol,
            logLevel: configuration.logLevel,
            logFormat: configuration.logFormat
        )
    } catch {
        throw fail("cannot start tracing: \(error)", code: ExitStatus.usage)
    }
    let logger = Logger(label: "rollback.broker")
    do {
        // Fail fast, and say where: a wrong password or an unreachable host is one line and
        // exit 1 within startupTimeoutSeconds, not a pool retrying for ever.
        try await StartupCheck.postgres(
            try PostgresEndpoint(url: configuration.postgresURL),
            timeout: .seconds(configuration.startupTimeoutSeconds),
            logger: logger
        )
        let server = try BrokerServer(
            configuration: configuration,
            keyStore: keyStore,
            agentKeyring: agentKeyring,
            logger: logger
        )
        try await server.run(
            roles: roles,
            gracefulShutdownSignals: [.sigterm, .sigint],
            reloadOnHangup: true,
            extraServices: tracing.map { [$0] } ?? []
        )
    } catch let error as StartupError {
        throw fail(error.message, code: ExitStatus.failure)
    } catch let error as ConfigurationError {
        throw fail("\(error)", code: ExitStatus.usage)
    } catch {
        throw fail("stopped: \(error)", code: ExitStatus.failure)
    }
}

struct Dispatch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run rollback jobs on this host's agent(s) until SIGTERM (jobs in flight are finished).",
        discussion: """
            Claims the jobs of the given hosts from PostgreSQL (several dispatchers may share \
            hosts: each job runs once at a time), sends each as a signed workdir.sync to the \
            host's agent, records progress, and writes the outcome. A job whose dispatcher died \
            is rescued once its lease (jobLeaseSeconds) runs out. Serves /healthz, /readyz and \
            /metrics on --port.

            Example:
              rollback-broker dispatch --agent build-1=/run/rollback/agent.sock \\
                --agent-keyring /etc/rollback/agent-keyring.json --port 9090
            """
    )

    @OptionGroup var options: CommonOptions
    @OptionGroup var dispatch: DispatchOptions

    @OptionGroup var listen: ListenOptions

    func run() async throws {
        try await runBroker(roles: [.dispatch], options: options, dispatch: dispatch, listen: listen)
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the HTTP API and dispatch jobs in one process (for a single build host).",
        discussion: """
            Example:
              rollback-broker run --keyring broker-keyring.json --agent build-1=/run/rollback/agent.sock \\
                --agent-keyring agent-keyring.json --port 8080
            """
    )

    @OptionGroup var options: CommonOptions
    @OptionGroup var dispatch: DispatchOptions

    @OptionGroup var listen: ListenOptions

    func run() async throws {
        try await runBroker(
            roles: [.api, .dispatch],
            options: options,
            dispatch: dispatch,
            listen: listen
        )
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply missing database migrations and exit (running it twice changes nothing)."
    )

    @OptionGroup var options: CommonOptions

    func run() async throws {
        let configuration: BrokerConfiguration
        do {
            configuration = try options.effectiveConfiguration()
        } catch {
            throw fail("\(error)", code: ExitStatus.usage)
        }
        let logger = options.logger(configuration)
        do {
            let applied = try await MigrationRunner.run(configuration: configuration, logger: logger)
            print(
                applied.isEmpty
                    ? "schema is up to date"
                    : "applied migrations \(applied.map(String.init).joined(separator: ", "))"
            )
        } catch let error as StartupError {
            throw fail(error.message, code: ExitStatus.failure)
        } catch {
            throw fail("migration failed: \(error)", code: ExitStatus.failure)
        }
    }
}

struct PrintConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "print-config",
        abstract: "Print the effective configuration as JSON (passwords masked) and exit."
    )

    @OptionGroup var options: CommonOptions

    func run() throws {
        var configuration: BrokerConfiguration
        do {
            configuration = try options.effectiveConfiguration()
        } catch {
            throw fail("\(error)", code: ExitStatus.usage)
        }
        if var url = URLComponents(string: configuration.postgresURL), url.password != nil {
            url.password = "***"
            configuration.postgresURL = url.string ?? ""
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(configuration), as: UTF8.self))
        for warning in MissingPaths.warnings([
            ("keyringFile", configuration.keyringFile), ("agentKeyringFile", configuration.agentKeyringFile),
        ]) {
            FileHandle.standardError.write(Data("rollback-broker: warning: \(warning)\n".utf8))
        }
    }
}
