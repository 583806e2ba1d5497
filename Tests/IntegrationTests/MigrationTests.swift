import Logging
import PostgresNIO
import RollbackBroker
import Testing

@Suite("Schema migrations")
struct MigrationTests {
    @Test("migrating twice, or from two brokers at once, changes nothing the second time")
    func idempotent() async throws {
        let endpoint = try TestEnvironment.postgres()
        let schema = "migration_test_\(UInt32.random(in: 0...UInt32.max))"
        let logger = Logger(label: "test.migrations")
        let admin = Database.makeClient(endpoint: endpoint, maximumConnections: 2, logger: logger)
        let client = Database.makeClient(
            endpoint: endpoint,
            maximumConnections: 4,
            searchPath: schema,
            logger: logger
        )
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await admin.run() }
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await admin.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA \(schema)"))
            let database = Database(client: client, timeout: .seconds(30), logger: logger)
            let migrator = Migrator(database: database)

            async let first = migrator.migrate(logger: logger)
            async let concurrent = migrator.migrate(logger: logger)
            let applied = try await [first, concurrent].sorted { $0.count > $1.count }
            #expect(applied[0] == Array(1...Migrator.latestVersion))
            #expect(applied[1] == [])
            let shape = try await Self.describe(schema: schema, admin)
            #expect(shape.contains("projects.epoch bigint"))
            #expect(shape.contains("jobs.epoch bigint"))

            #expect(try await migrator.migrate(logger: logger) == [])
            #expect(try await migrator.appliedVersions(logger: logger) == Array(1...Migrator.latestVersion))
            #expect(try await Self.describe(schema: schema, admin) == shape)

            // The status values the design names are the ones the database accepts.
            let check = try await Self.text(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'projects_status_check' AND connamespace = '\(schema)'::regnamespace",
                admin
            )
            #expect(check.contains("rollingBack") && check.contains("rollbackFailed"))
            try await admin.query(PostgresQuery(unsafeSQL: "DROP SCHEMA \(schema) CASCADE"))
        }
    }

    /// Every column and index of the schema, as sorted text.
    static func describe(schema: String, _ client: PostgresClient) async throws -> [String] {
        var lines: [String] = []
        for try await (table, column, type) in try await client.query(
            PostgresQuery(
                unsafeSQL:
                    "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns WHERE table_schema = '\(schema)'"
            )
        ).decode((String, String, String).self) {
            lines.append("\(table).\(column) \(type)")
        }
        for try await definition in try await client.query(
            PostgresQuery(unsafeSQL: "SELECT indexdef FROM pg_indexes WHERE schemaname = '\(schema)'")
        ).decode(String.self) {
            lines.append(definition)
        }
        return lines.sorted()
    }

    static func text(_ sql: String, _ client: PostgresClient) async throws -> String {
        for try await value in try await client.query(PostgresQuery(unsafeSQL: sql)).decode(String.self) {
            return value
        }
        return ""
    }
}
