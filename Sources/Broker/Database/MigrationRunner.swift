public import Logging
import PostgresNIO

/// `rollback-broker migrate`: starts a PostgreSQL client just long enough to migrate.
public enum MigrationRunner {
    public static func run(configuration: BrokerConfiguration, logger: Logger) async throws -> [Int] {
        let endpoint = try PostgresEndpoint(url: configuration.postgresURL)
        try await StartupCheck.postgres(
            endpoint,
            timeout: .seconds(configuration.startupTimeoutSeconds),
            logger: logger
        )
        let client = Database.makeClient(
            endpoint: endpoint,
            maximumConnections: 1,
            logger: logger
        )
        let database = Database(
            client: client,
            timeout: .milliseconds(max(configuration.databaseTimeoutMilliseconds, 30_000)),
            logger: logger
        )
        return try await withThrowingTaskGroup(of: [Int]?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            defer { group.cancelAll() }
            return try await Migrator(database: database).migrate(logger: logger)
        }
    }
}
