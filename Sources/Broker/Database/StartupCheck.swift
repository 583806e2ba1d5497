public import Logging
import NIOCore
import NIOPosix
import PostgresNIO
public import RollbackRuntime

/// Before a role starts: can PostgreSQL be reached and logged into? A pool would retry a wrong
/// password or an unreachable host for ever at info level; this tries single connections
/// until `timeout` and then fails with one line naming host, port, database and user. A refusal
/// that retrying cannot mend (wrong password, unknown database or role) fails at once.
public enum StartupCheck {
    public static func postgres(
        _ endpoint: PostgresEndpoint,
        timeout: Duration,
        logger: Logger
    ) async throws(StartupError) {
        let deadline = ContinuousClock.now + timeout
        let configuration = endpoint.connectionConfiguration
        let place =
            "PostgreSQL at \(endpoint.host):\(endpoint.port) (database \(endpoint.database), user \(endpoint.username))"
        var delay = Duration.milliseconds(100)
        var attempt = 0
        while true {
            attempt += 1
            let reason: String
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: configuration,
                    id: attempt,
                    logger: logger
                )
                try? await connection.close()
                return
            } catch let error as PSQLError {
                if let state = error.serverInfo?[.sqlState], let fatal = fatalReason(sqlState: state) {
                    throw StartupError("cannot log in to \(place): \(fatal) (sqlstate \(state))")
                }
                reason = error.serverInfo?[.message] ?? "\(error.code)"
            } catch {
                reason = "\(error)"
            }
            guard ContinuousClock.now + delay < deadline else {
                throw StartupError("cannot reach \(place) within \(timeout): \(reason)")
            }
            logger.warning(
                "PostgreSQL not reachable yet; retrying",
                metadata: [
                    "postgres.host": "\(endpoint.host)", "postgres.port": "\(endpoint.port)",
                    "error": "\(reason)",
                ]
            )
            try? await Task.sleep(for: delay)
            if Task.isCancelled { throw StartupError("cancelled while waiting for \(place)") }
            delay = min(delay * 2, .seconds(2))
        }
    }

    /// Server refusals that no retry can mend.
    static func fatalReason(sqlState: String) -> String? {
        switch sqlState {
        case "28P01": "wrong password"
        case "28000": "this user may not log in (pg_hba.conf or role)"
        case "3D000": "no such database"
        default: nil
        }
    }
}
