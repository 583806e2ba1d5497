public import Logging
public import PostgresNIO
import Synchronization
import Tracing

/// The broker's PostgreSQL: a `PostgresClient` (run it as a `Service`) plus a deadline on every
/// use, so that a database that does not answer becomes a clear 503 instead of a hung request.
public struct Database: Sendable {
    public let client: PostgresClient
    /// How long one request may wait for a connection and its statements.
    public let timeout: Duration
    let logger: Logger
    private let useCount = UseCount()

    /// How many times this process has used the database (transactions plus single-connection
    /// uses): what the tests and the fleet benchmark read to see what an idle stream costs.
    public var uses: Int { useCount.value.load(ordering: .relaxed) }

    public init(client: PostgresClient, timeout: Duration, logger: Logger) {
        self.client = client
        self.timeout = timeout
        self.logger = logger
    }

    /// Builds a client for `endpoint`. Call `client.run()` (or add it to a `ServiceGroup`).
    public static func makeClient(
        endpoint: PostgresEndpoint,
        maximumConnections: Int,
        searchPath: String? = nil,
        logger: Logger
    ) -> PostgresClient {
        var configuration = PostgresClient.Configuration(
            host: endpoint.host,
            port: endpoint.port,
            username: endpoint.username,
            password: endpoint.password,
            database: endpoint.database,
            tls: .disable
        )
        configuration.options.maximumConnections = maximumConnections
        configuration.options.minimumConnections = min(2, maximumConnections)
        configuration.options.connectTimeout = .seconds(2)
        if let searchPath {
            configuration.options.additionalStartupParameters = [("search_path", searchPath)]
        }
        return PostgresClient(configuration: configuration, backgroundLogger: logger)
    }

    /// Runs `body` in one transaction; any thrown error rolls it back.
    public func transaction<Result: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        useCount.value.add(1, ordering: .relaxed)
        return try await withDeadline { [logger, client] in
            do {
                return try await withSpan("db.transaction", ofKind: .client) { _ in
                    try await client.withTransaction(logger: logger) { connection in
                        try await body(connection)
                    }
                }
            } catch let error as PostgresTransactionError {
                // The closure's own error (a refusal) is what the caller needs; a failed BEGIN,
                // COMMIT or ROLLBACK is a database problem.
                if let closureError = error.closureError { throw closureError }
                if let failure = error.beginError ?? error.commitError ?? error.rollbackError {
                    throw failure
                }
                throw error
            }
        }
    }

    /// A transaction on behalf of a request signed with `keyID`: every audit row and history
    /// entry it writes records the key (the columns' default reads `rollback.key_id`, set here
    /// for this transaction only; migration 9).
    func transaction<Result: Sendable>(
        stampedBy keyID: String,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await transaction { [logger] connection in
            try await connection.query("SELECT set_config('rollback.key_id', \(keyID), true)", logger: logger)
            return try await body(connection)
        }
    }

    /// Runs `body` on one pooled connection (no transaction).
    public func connection<Result: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        useCount.value.add(1, ordering: .relaxed)
        return try await withDeadline {
            try await client.withConnection { connection in try await body(connection) }
        }
    }

    /// Runs `body`, but answers `database_unavailable` after `timeout` whatever `body` does. The
    /// caller is not held by a body that ignores cancellation: the soak found a pooled query
    /// that never returned after PostgreSQL restarted, and a task group (which waits for its
    /// children) kept a dispatcher's claim loop waiting with it for good. The body is cancelled
    /// and left to end on its own.
    private func withDeadline<Result: Sendable>(
        _ body: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        let timeout = self.timeout
        do {
            return try await FirstOutcome.racing(
                timeout: timeout,
                expired: { APIError.databaseUnavailable("no answer within \(timeout)") },
                body
            )
        } catch let error as PSQLError {
            throw Self.classify(error)
        }
    }

    /// Connection-level failures become 503; anything else (a constraint, a bug) stays itself.
    static func classify(_ error: PSQLError) -> any Error {
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed,
            .uncleanShutdown:
            return APIError.databaseUnavailable("\(error.code)")
        case .server:
            // 57P01 admin shutdown, 57P03 cannot connect now, 08xxx connection exceptions.
            let state = error.serverInfo?[.sqlState] ?? ""
            if state.hasPrefix("08") || state.hasPrefix("57P") {
                return APIError.databaseUnavailable("sqlstate \(state)")
            }
            return error
        default:
            return error
        }
    }
}

/// A counter shared by the copies of one `Database`.
private final class UseCount: Sendable {
    let value = Atomic<Int>(0)
}
