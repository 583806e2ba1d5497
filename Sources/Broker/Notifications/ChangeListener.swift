import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The one `LISTEN` connection of a broker process: it hands each notification of migration 8's
/// triggers to the `ChangeHub`. A lost connection is re-established (backing off up to five
/// seconds) and every subscriber is told to catch up, since what was sent meanwhile is gone.
/// A ping every `livenessInterval` finds a connection that died without a word (a half-open TCP
/// connection delivers nothing and reports nothing): one query per process, however many
/// streams are open.
struct ChangeListener: Service {
    let endpoint: PostgresEndpoint
    let hub: ChangeHub
    let livenessInterval: Duration
    let logger: Logger

    /// The `application_name` of the listening session, so an operator can find it in
    /// `pg_stat_activity`.
    static let applicationName = "rollback-broker-listener"

    /// How long connecting, `LISTEN` and the first ping may take before the attempt is given up:
    /// only for a `LISTEN` that never returns (vapor/postgres-nio#601), so generous. Shorter,
    /// a slow start under load (CI's parallel start of dozens of brokers) is given up and retried,
    /// and each retry opens one more connection to a server that is already slow.
    var startTimeout: Duration = .seconds(60)

    func run() async throws {
        var failures = 0
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await attempt() }
            } catch {
                if Task.isCancelled || Task.isShuttingDownGracefully { break }
                // Counted per outage: a connection that was listening starts a new one.
                failures = hub.isListening ? 1 : failures + 1
                // One warning per outage, not one per attempt.
                let level: Logger.Level = failures == 1 ? .warning : .debug
                logger.log(
                    level: level,
                    "change notifications lost; subscribers poll until the listening connection is back",
                    metadata: ["error": "\(String(reflecting: error))", "attempt": "\(failures)"]
                )
            }
            hub.listeningStopped()
            let delays: [Duration] = [.milliseconds(100), .milliseconds(500), .seconds(1), .seconds(2)]
            let delay =
                failures == 0
                ? .milliseconds(100) : failures <= delays.count ? delays[failures - 1] : .seconds(5)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
        }
        hub.listeningStopped()
    }

    /// One listening connection, from connecting until it fails. It ends, and the caller marks
    /// the hub not listening, as soon as the connection fails or stops answering, whatever the
    /// calls on it do: none is waited for once it is known to be dead (postgres-nio's `LISTEN`
    /// can hang for good when PostgreSQL restarts under it, vapor/postgres-nio#601, and a query
    /// on a half-open connection never answers). The abandoned connection is closed in the
    /// background.
    private func attempt() async throws {
        let outcome = FirstOutcome<Void>()
        let state = SessionState()
        let session = Task {
            do {
                try await listen(state, failing: outcome)
                outcome.settle(.failure(ListenerStopped()))
            } catch {
                outcome.settle(.failure(error))
            }
        }
        let startTimer = Task { [startTimeout] in
            try await Task.sleep(for: startTimeout)
            if !state.hasStarted {
                outcome.settle(
                    .failure(ListenerStopped(reason: "did not start listening within \(startTimeout)"))
                )
            }
        }
        defer {
            session.cancel()
            startTimer.cancel()
            // Not awaited: closing a connection that died under a LISTEN can hang too.
            if let connection = state.abandon() { Task { try? await connection.close() } }
        }
        try await withTaskCancellationHandler {
            try await outcome.value()
        } onCancel: {
            outcome.settle(.failure(CancellationError()))
        }
    }

    /// Connects, listens and delivers; settles `outcome` with the failure that ends it (a ping
    /// that did not answer, or the notifications ending).
    private func listen(_ state: SessionState, failing outcome: FirstOutcome<Void>) async throws {
        var configuration = endpoint.connectionConfiguration
        configuration.options.additionalStartupParameters = [("application_name", Self.applicationName)]
        let connection = try await PostgresConnection.connect(
            configuration: configuration,
            id: 1,
            logger: logger
        )
        guard state.adopt(connection) else {
            Task { try? await connection.close() }
            throw CancellationError()
        }
        var schema = "public"
        var backendPID: Int32?
        for try await (name, pid) in try await connection.query(
            "SELECT current_schema(), pg_backend_pid()",
            logger: logger
        ).decode((String, Int32).self) {
            schema = name
            backendPID = pid
        }
        let channel = ChangeNotice.channel(schema: schema)
        try await connection.listen(on: channel) { notifications in
            // A query behind LISTEN on the same connection: once it answers, LISTEN is in force,
            // and whatever commits from now on is announced. Only then may subscribers catch up.
            try await ping(connection)
            // Not once the caller has given up on this session: it has told the hub otherwise.
            guard state.start({ hub.listeningStarted(backendPID: backendPID) }) else {
                throw CancellationError()
            }
            logger.debug(
                "listening for changes",
                metadata: ["postgres.channel": "\(channel)", "postgres.pid": "\(backendPID ?? 0)"]
            )
            // The pings run beside the notifications; the first to fail ends the session (the
            // caller stops waiting at once and cancels this task).
            let liveness = Task {
                do {
                    while true {
                        try await Task.sleep(for: livenessInterval)
                        try await ping(connection)
                    }
                } catch {
                    outcome.settle(.failure(error))
                }
            }
            defer { liveness.cancel() }
            for try await notification in notifications {
                if let notice = ChangeNotice(payload: notification.payload) {
                    hub.deliver(notice)
                }
            }
        }
    }

    /// `SELECT 1`, failing after two seconds whether or not the query ever returns.
    private func ping(_ connection: PostgresConnection) async throws {
        try await FirstOutcome.racing(
            timeout: .seconds(2),
            expired: { ListenerStopped() }
        ) {
            _ = try await connection.query("SELECT 1", logger: logger).collect()
        }
    }

    /// What `attempt` and its session task share: whether the session started listening, the
    /// connection to close, and whether the attempt was given up (after which the session may
    /// no longer tell the hub it listens).
    private final class SessionState: Sendable {
        private struct Fields {
            var started = false
            var abandoned = false
            var connection: PostgresConnection?
        }
        private let fields = Mutex(Fields())

        var hasStarted: Bool { fields.withLock { $0.started } }

        /// Keeps `connection` for closing; false when the attempt was already given up.
        func adopt(_ connection: PostgresConnection) -> Bool {
            fields.withLock { fields in
                guard !fields.abandoned else { return false }
                fields.connection = connection
                return true
            }
        }

        /// Runs `announce` (under the lock `abandon` takes) unless the attempt was given up.
        func start(_ announce: () -> Void) -> Bool {
            fields.withLock { fields in
                guard !fields.abandoned else { return false }
                fields.started = true
                announce()
                return true
            }
        }

        /// Gives the attempt up; returns the connection to close.
        func abandon() -> PostgresConnection? {
            fields.withLock { fields in
                fields.abandoned = true
                defer { fields.connection = nil }
                return fields.connection
            }
        }
    }

    private struct ListenerStopped: Error, CustomStringConvertible {
        var reason = "the listening connection stopped answering"
        var description: String { reason }
    }
}
