import Logging
import PostgresNIO
import ServiceLifecycle

/// Deletes idempotency keys past their expiry, every `interval`. Lookups already ignore expired
/// rows; this only keeps the table from growing without end.
struct ExpiredRowsJanitor: Service {
    let database: Database
    let interval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                // A SIGTERM ends the wait at once rather than after up to `interval`.
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            do {
                let deleted = try await database.connection { connection in
                    var count = 0
                    for try await _ in try await connection.query(
                        "DELETE FROM idempotency_keys WHERE expires_at < now() RETURNING 1",
                        logger: logger
                    ).decode(Int.self) {
                        count += 1
                    }
                    // Events are kept a week for SSE resumption (`Last-Event-ID`); see spec/http-api.md.
                    try await connection.query(
                        "DELETE FROM events WHERE created_at < now() - interval '7 days'",
                        logger: logger
                    )
                    return count
                }
                if deleted > 0 {
                    logger.info("expired idempotency keys deleted", metadata: ["count": "\(deleted)"])
                }
            } catch {
                logger.warning("could not delete expired idempotency keys", metadata: ["error": "\(error)"])
            }
        }
    }
}
