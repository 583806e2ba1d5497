import Foundation
import Hummingbird
import HummingbirdCore
public import Logging
import NIOCore
public import PostgresNIO
public import RollbackProtocol
import RollbackRuntime
public import ServiceLifecycle
public import UnixSignals

/// The broker assembled: PostgreSQL client, Redis client, HTTP API, and (for the `dispatch` and
/// `run` roles) the dispatcher. `run()` serves until cancelled or (with
/// `gracefulShutdownSignals`) until SIGTERM, finishing requests and jobs in flight.
public struct BrokerServer: Sendable {
    /// What one process does: the HTTP API, the dispatcher, or both.
    public enum Role: String, Sendable, CaseIterable {
        /// The whole HTTP API.
        case api
        /// Runs jobs on the configured agents; serves only `/healthz`, `/readyz` and `/metrics`.
        case dispatch
    }

    public let configuration: BrokerConfiguration
    public let postgres: PostgresClient
    public let database: Database
    public let redis: RedisClient
    public let api: BrokerAPI
    public let metrics: BrokerMetrics
    /// What this process's `ChangeListener` hears, fanned out to streams and the dispatcher.
    let changes = ChangeHub()
    /// The broker's keyring, reloaded on SIGHUP when it came from a file.
    public let keyStore: KeyStore
    let postgresEndpoint: PostgresEndpoint
    let agentKeyring: Keyring?
    let logger: Logger

    /// - Parameter agentKeyring: keys the agents accept; needed by the `dispatch` role.
    public init(
        configuration: BrokerConfiguration,
        keyStore: KeyStore,
        agentKeyring: Keyring? = nil,
        logger: Logger
    ) throws {
        try configuration.validate()
        self.configuration = configuration
        self.logger = logger
        self.keyStore = keyStore
        let postgresEndpoint = try PostgresEndpoint(url: configuration.postgresURL)
        self.postgresEndpoint = postgresEndpoint
        let redisEndpoint = try RedisEndpoint(url: configuration.redisURL)
        postgres = Database.makeClient(
            endpoint: postgresEndpoint,
            maximumConnections: configuration.postgresMaxConnections,
            logger: logger
        )
        database = Database(
            client: postgres,
            timeout: .milliseconds(configuration.databaseTimeoutMilliseconds),
            logger: logger
        )
        redis = RedisClient(endpoint: redisEndpoint)
        self.agentKeyring = agentKeyring
        metrics = BrokerMetrics(prefix: configuration.metricsPrefix)
        api = BrokerAPI(
            database: database,
            redis: redis,
            keys: RedisKeys(prefix: configuration.redisKeyPrefix),
            keyStore: keyStore,
            settings: configuration.settings,
            metrics: metrics,
            agents: try AgentDirectory(parsing: configuration.agents),
            agentKeyring: agentKeyring,
            changes: changes,
            logger: logger
        )
    }

    /// A dispatcher for the configured agents, named `owner` in the leases it takes.
    public func makeDispatcher(owner: String) throws -> Dispatcher {
        guard let agentKeyring else {
            throw ConfigurationError(
                field: "agentKeyringFile",
                message: "the dispatcher needs the agents' keyring"
            )
        }
        let agents = try AgentDirectory(parsing: configuration.agents)
        guard !agents.byHost.isEmpty else {
            throw ConfigurationError(
                field: "agents",
                message: "the dispatcher needs at least one host=socket"
            )
        }
        let keys = RedisKeys(prefix: configuration.redisKeyPrefix)
        return Dispatcher(
            database: database,
            redis: redis,
            keys: keys,
            sink: RedisStreamBuildSink(redis: redis, stream: keys.buildStream),
            metrics: metrics,
            agents: agents,
            agentKeyring: agentKeyring,
            changes: changes,
            settings: configuration.dispatchSettings(owner: owner),
            logger: logger
        )
    }

    /// A lease owner name unique to this process.
    public static func defaultOwner() -> String {
        "\(ProcessInfo.processInfo.hostName)-\(getpid())-\(UInt16.random(in: 0...UInt16.max))"
    }

    /// Serves HTTP; `onListening` gets the bound port (useful with port 0). `extraServices` run
    /// in the same group (the tracing exporter), started first and stopped last. With
    /// `reloadOnHangup`, SIGHUP reloads the keyring file (and the TLS files).
    public func run(
        roles: Set<Role> = [.api],
        dispatcherOwner: String = BrokerServer.defaultOwner(),
        gracefulShutdownSignals: [UnixSignal] = [],
        reloadOnHangup: Bool = false,
        extraServices: [any Service] = [],
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        let logger = self.logger
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if roles.contains(.dispatch) {
            services.append(.init(service: try makeDispatcher(owner: dispatcherOwner)))
        }
        if roles.contains(.api), configuration.webhookConcurrency > 0 {
            services.append(
                .init(
                    service: WebhookDeliverer(
                        database: database,
                        changes: changes,
                        settings: configuration.webhookSettings(owner: dispatcherOwner),
                        logger: logger
                    )
                )
            )
        }
        // TLS on the API listener when configured; the files are checked now, so a bad one
        // stops the start with its name rather than failing every handshake.
        var tls: TLSContextStore?
        if !configuration.tlsCertificateFile.isEmpty {
            do {
                tls = try TLSContextStore(
                    certificateFile: configuration.tlsCertificateFile,
                    keyFile: configuration.tlsKeyFile
                )
            } catch {
                throw StartupError(error.message)
            }
        }
        let admin = BrokerConfiguration.hostAndPort(configuration.adminListen)
        let routes: BrokerAPI.RouteSet =
            !roles.contains(.api) ? .operations : admin == nil ? .all : .api
        var application = Application(
            router: api.router(serving: routes),
            server: tls.map { HTTPServerBuilder.reloadableTLS($0) } ?? .http1(),
            configuration: .init(
                address: .hostname(configuration.listenHost, port: configuration.listenPort),
                serverName: "rollback-broker"
            ),
            // The PostgreSQL client runs first in the service group instead, so that the
            // services beside the server never ask it for a connection before it runs.
            services: [],
            onServerRunning: { [tls] channel in
                let port = channel.localAddress?.port ?? 0
                logger.info(
                    "broker listening",
                    metadata: ["http.port": "\(port)", "tls": "\(tls == nil ? "off" : "on")"]
                )
                await onListening(port)
            },
            logger: logger
        )
        if let admin, routes != .operations {
            services.append(
                .init(
                    service: Application(
                        router: api.router(serving: .operations),
                        configuration: .init(
                            address: .hostname(admin.host, port: admin.port),
                            serverName: "rollback-broker-admin"
                        ),
                        onServerRunning: { channel in
                            logger.info(
                                "admin listener (healthz, readyz, metrics)",
                                metadata: ["admin.port": "\(channel.localAddress?.port ?? 0)"]
                            )
                        },
                        logger: logger
                    )
                )
            )
        }
        if configuration.migrateOnStart {
            let database = self.database
            application.beforeServerStarts {
                try await Migrator(database: database).migrate(logger: logger)
            }
        }
        let janitor = ExpiredRowsJanitor(
            database: database,
            interval: .seconds(600),
            historyRetentionDays: configuration.historyRetentionDays,
            logger: logger
        )
        let listener = ChangeListener(
            endpoint: postgresEndpoint,
            hub: changes,
            livenessInterval: .milliseconds(configuration.safetyNetPollMilliseconds),
            logger: logger
        )
        if reloadOnHangup {
            let keyStore = self.keyStore
            services.append(
                .init(
                    service: ReloadOnHangup(
                        reloadables: [
                            .init(name: "the keyring") {
                                let keys = try keyStore.reload().keyring.keyIDs
                                return "\(keys.count) keys (\(keys.joined(separator: ", ")))"
                            }
                        ]
                            + (tls.map { store in [.init(name: "the TLS certificate") { try store.reload() }]
                            } ?? []),
                        logger: logger
                    )
                )
            )
        }
        let group = ServiceGroup(
            configuration: .init(
                services: extraServices.map { .init(service: $0) } + [
                    .init(service: postgres), .init(service: listener), .init(service: application),
                    .init(service: janitor),
                ]
                    + services,
                gracefulShutdownSignals: gracefulShutdownSignals,
                logger: logger
            )
        )
        do {
            try await group.run()
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            throw StartupError(
                "cannot listen on \(configuration.listenHost):\(configuration.listenPort): the address is in use"
            )
        }
    }
}
