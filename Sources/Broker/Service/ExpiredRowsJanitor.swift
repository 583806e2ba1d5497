import Logging
import PostgresNIO
import ServiceLifecycle

/// Deletes idempotency keys past their expiry, events older than a week and history older than
/// `historyRetentionDays`, every `interval`. Lookups already ignore expired rows; this only
/// keeps the tables from growing without end.
struct ExpiredRowsJanitor: Service {
    let database: Database
    let interval: Duration
    let historyRetentionDays: Int
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
                let days = historyRetentionDays
                let deleted = try await database.connection { connection in
                    let keys = try await Maintenance.deleteExpired(on: connection, logger: logger)
                    let history = try await HistoryStore.deleteOlder(
                        than: days,
                        on: connection,
                        logger: logger
                    )
                    if history > 0 {
                        logger.info("history past its retention deleted", metadata: ["count": "\(history)"])
                    }
                    return keys
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
