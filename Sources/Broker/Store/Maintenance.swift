import Logging
import PostgresNIO

/// Statements that keep the database healthy rather than serve a request.
enum Maintenance {
    /// `SELECT 1`, for `/readyz`.
    static func ping(on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("SELECT 1", logger: logger)
    }

    /// Deletes idempotency keys past their expiry and events older than a week (the SSE resume
    /// window, `spec/http-api.md`); returns how many keys went.
    static func deleteExpired(on connection: PostgresConnection, logger: Logger) async throws -> Int {
        var count = 0
        for try await _ in try await connection.query(
            "DELETE FROM idempotency_keys WHERE expires_at < now() RETURNING 1",
            logger: logger
        ).decode(Int.self) {
            count += 1
        }
        try await connection.query(
            "DELETE FROM events WHERE created_at < now() - interval '7 days'",
            logger: logger
        )
        return count
    }
}
