public import Logging
import PostgresNIO
import ServiceLifecycle

/// Applies `Migrations.all` in order, each step in its own transaction with its row in
/// `schema_migrations`. Several brokers starting at once take turns (an advisory lock), and a
/// step already recorded is skipped: running the migrator twice changes nothing.
public struct Migrator: Sendable {
    /// Arbitrary, fixed: the advisory lock every broker takes while migrating.
    static let lockID: Int64 = 0x726F_6C6C_6261_636B  // "rollback"

    let database: Database

    public init(database: Database) {
        // A migration may wait for another broker's (the advisory lock) and may rewrite tables:
        // the request deadline is far too short for it.
        self.database = Database(
            client: database.client,
            timeout: max(database.timeout, .seconds(120)),
            logger: database.logger
        )
    }

    /// The newest version the code knows.
    public static var latestVersion: Int { Migrations.all.map(\.version).max() ?? 0 }

    /// Applies what is missing; returns the versions applied by this call.
    @discardableResult
    public func migrate(logger: Logger) async throws -> [Int] {
        try await database.transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockID))", logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version int PRIMARY KEY,
                    name text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """,
                logger: logger
            )
            var applied = Set<Int>()
            for try await version in try await connection.query(
                "SELECT version FROM schema_migrations",
                logger: logger
            ).decode(Int.self) {
                applied.insert(version)
            }
            var done: [Int] = []
            // One transaction for all steps: a failing step leaves the schema as it was.
            for step in Migrations.all where !applied.contains(step.version) {
                for statement in step.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO schema_migrations (version, name) VALUES (\(step.version), \(step.name))",
                    logger: logger
                )
                logger.info(
                    "migration applied",
                    metadata: ["migration.version": "\(step.version)", "migration.name": "\(step.name)"]
                )
                done.append(step.version)
            }
            return done
        }
    }

    /// The versions recorded in `schema_migrations`, ascending.
    public func appliedVersions(logger: Logger) async throws -> [Int] {
        try await database.connection { connection in
            var versions: [Int] = []
            for try await version in try await connection.query(
                "SELECT version FROM schema_migrations ORDER BY version",
                logger: logger
            ).decode(Int.self) {
                versions.append(version)
            }
            return versions
        }
    }

    /// Waits until the schema is at least the one this code needs (migrations are run by
    /// `serve` at start or by `migrate`), for services that start beside the migration; false
    /// when stopped first.
    func waitUntilCurrent(logger: Logger) async -> Bool {
        var reported = false
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            let applied = (try? await appliedVersions(logger: logger)) ?? []
            if (applied.last ?? 0) >= Self.latestVersion { return true }
            if !reported {
                logger.notice(
                    "waiting for database migrations",
                    metadata: [
                        "schema.version": "\(applied.last ?? 0)",
                        "schema.needed": "\(Self.latestVersion)",
                    ]
                )
                reported = true
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(250)) }
        }
        return false
    }
}
