import Hummingbird
public import Logging
import NIOCore
public import PostgresNIO
public import RollbackProtocol
import ServiceLifecycle
public import UnixSignals

/// The `serve` role assembled: PostgreSQL client, Redis client, HTTP API. `run()` serves until
/// cancelled or (with `gracefulShutdownSignals`) until SIGTERM, finishing requests in flight.
public struct BrokerServer: Sendable {
    public let configuration: BrokerConfiguration
    public let postgres: PostgresClient
    public let database: Database
    public let redis: RedisClient
    public let api: BrokerAPI
    let logger: Logger

    public init(configuration: BrokerConfiguration, keyring: Keyring, logger: Logger) throws {
        try configuration.validate()
        self.configuration = configuration
        self.logger = logger
        let postgresEndpoint = try PostgresEndpoint(url: configuration.postgresURL)
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
        redis = RedisClient(endpoint: redisEndpoint, concurrency: 16)
        api = BrokerAPI(
            database: database,
            redis: redis,
            keys: RedisKeys(prefix: configuration.redisKeyPrefix),
            keyring: keyring,
            settings: configuration.settings,
            logger: logger
        )
    }

    /// Serves HTTP; `onListening` gets the bound port (useful with port 0).
    public func run(
        gracefulShutdownSignals: [UnixSignal] = [],
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        let logger = self.logger
        var application = Application(
            router: api.router(),
            configuration: .init(
                address: .hostname(configuration.listenHost, port: configuration.listenPort),
                serverName: "rollback-broker"
            ),
            services: [postgres],
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("broker listening", metadata: ["http.port": "\(port)"])
                await onListening(port)
            },
            logger: logger
        )
        if configuration.migrateOnStart {
            let database = self.database
            application.beforeServerStarts {
                try await Migrator(database: database).migrate(logger: logger)
            }
        }
        let janitor = ExpiredRowsJanitor(database: database, interval: .seconds(600), logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: application), .init(service: janitor)],
                gracefulShutdownSignals: gracefulShutdownSignals,
                logger: logger
            )
        )
        try await group.run()
    }
}
