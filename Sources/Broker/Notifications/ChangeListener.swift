import Logging
import PostgresNIO
import ServiceLifecycle

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

    func run() async throws {
        var failures = 0
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await listen() }
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

    /// Connects, listens and delivers until the connection fails or the task is cancelled.
    private func listen() async throws {
        var configuration = endpoint.connectionConfiguration
        configuration.options.additionalStartupParameters = [("application_name", Self.applicationName)]
        let connection = try await PostgresConnection.connect(
            configuration: configuration,
            id: 1,
            logger: logger
        )
        do {
            try await listen(on: connection)
        } catch {
            try? await connection.close()
            throw error
        }
        try? await connection.close()
    }

    private func listen(on connection: PostgresConnection) async throws {
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
            hub.listeningStarted(backendPID: backendPID)
            logger.debug(
                "listening for changes",
                metadata: ["postgres.channel": "\(channel)", "postgres.pid": "\(backendPID ?? 0)"]
            )
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await notification in notifications {
                        if let notice = ChangeNotice(payload: notification.payload) {
                            hub.deliver(notice)
                        }
                    }
                    throw ListenerStopped()
                }
                group.addTask {
                    while true {
                        try await Task.sleep(for: livenessInterval)
                        try await ping(connection)
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        }
    }

    /// `SELECT 1` with a deadline of two seconds.
    private func ping(_ connection: PostgresConnection) async throws {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                _ = try await connection.query("SELECT 1", logger: logger).collect()
                return true
            }
            group.addTask {
                try await Task.sleep(for: .seconds(2))
                return false
            }
            defer { group.cancelAll() }
            guard try await group.next() == true else { throw ListenerStopped() }
        }
    }

    private struct ListenerStopped: Error, CustomStringConvertible {
        var description: String { "the listening connection stopped answering" }
    }
}
