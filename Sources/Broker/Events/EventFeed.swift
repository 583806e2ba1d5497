import Logging
import ServiceLifecycle

/// Reads one project's events after a given id, again and again, and writes them as SSE.
/// PostgreSQL is the source, so events from every broker instance arrive, in id order. (Within
/// one project, events are written in causal order by transactions that serialise on the
/// project's or the job's row, so ids become visible in order.)
struct EventFeed: Sendable {
    let database: Database
    let projectID: String
    let poll: Duration
    let logger: Logger
    var keepAlive: Duration = .seconds(15)

    /// Writes the events after `start`; with `follow`, then waits for new ones until cancelled or
    /// shut down, else returns once caught up.
    func stream(
        after start: Int64,
        follow: Bool,
        write: (ArraySlice<UInt8>) async throws -> Void
    ) async throws {
        var last = start
        var lastWrite = ContinuousClock.now
        try await write(ArraySlice("retry: 1000\n\n".utf8))
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            let batch = try await read(after: last)
            for event in batch {
                try await write(ArraySlice(Self.format(event).utf8))
                last = event.id
            }
            if batch.isEmpty {
                if !follow { return }
                if ContinuousClock.now - lastWrite > keepAlive {
                    try await write(ArraySlice(": keep-alive\n\n".utf8))
                    lastWrite = .now
                }
                try await Task.sleep(for: poll)
            } else {
                lastWrite = .now
            }
        }
    }

    static func format(_ event: StoredEvent) -> String {
        "id: \(event.id)\nevent: \(event.type)\ndata: \(event.payload)\n\n"
    }

    private func read(after id: Int64) async throws -> [StoredEvent] {
        let projectID = self.projectID
        let logger = self.logger
        return try await database.connection { connection in
            try await EventStore.after(id, project: projectID, on: connection, logger: logger)
        }
    }
}
