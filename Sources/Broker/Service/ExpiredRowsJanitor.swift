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
                    try await Maintenance.deleteExpired(on: connection, logger: logger)
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
