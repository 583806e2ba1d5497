import Logging
import ServiceLifecycle

/// One project's events after a given id, written as SSE: first read from PostgreSQL (the
/// catch-up), then, following, pushed by the process's `ChangeHub` as they commit. PostgreSQL
/// stays the source: a stream that fell behind (its mailbox overflowed), or that was open while
/// the listening connection was down, reads again from its last id, so it stays gapless and in
/// id order. (Within one project, events are written in causal order by transactions that
/// serialise on the project's or the job's row, so ids become visible, and are announced, in
/// order.) While the hub is listening, an idle stream runs no query at all; while it is not,
/// the stream reads every `safetyNetPoll`.
struct EventFeed: Sendable {
    let database: Database
    let hub: ChangeHub
    let projectID: String
    let safetyNetPoll: Duration
    let logger: Logger
    var keepAlive: Duration = .seconds(15)
    /// Events per catch-up read.
    var pageSize = 200

    /// Writes the events after `start`; with `follow`, then waits for new ones until cancelled or
    /// shut down, else returns once caught up.
    func stream(
        after start: Int64,
        follow: Bool,
        write: (ArraySlice<UInt8>) async throws -> Void
    ) async throws {
        try await write(ArraySlice("retry: 1000\n\n".utf8))
        // Subscribed before the first read: whatever commits after that read is in the mailbox.
        try await hub.withEvents(of: projectID) { mailbox in
            var last = try await catchUp(after: start, write: write)
            guard follow else { return }
            var lastWrite = ContinuousClock.now
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                let listening = hub.isListening
                let idle = keepAlive - (ContinuousClock.now - lastWrite)
                let wait = listening ? idle : min(idle, safetyNetPoll)
                let delivery = await mailbox.takeUnlessShuttingDown(within: wait)
                var wrote = false
                if delivery.mustCatchUp || !listening {
                    let caughtUp = try await catchUp(after: last, write: write)
                    wrote = caughtUp != last
                    last = caughtUp
                } else {
                    for event in delivery.items where event.id > last {
                        try await write(ArraySlice(Self.format(event).utf8))
                        last = event.id
                        wrote = true
                    }
                }
                if wrote {
                    lastWrite = .now
                } else if ContinuousClock.now - lastWrite >= keepAlive {
                    try await write(ArraySlice(": keep-alive\n\n".utf8))
                    lastWrite = .now
                }
            }
        }
    }

    static func format(_ event: StoredEvent) -> String {
        "id: \(event.id)\nevent: \(event.type)\ndata: \(event.payload)\n\n"
    }

    /// Writes every stored event after `id`; returns the last id written (or `id`).
    private func catchUp(
        after id: Int64,
        write: (ArraySlice<UInt8>) async throws -> Void
    ) async throws -> Int64 {
        var last = id
        while true {
            let batch = try await read(after: last)
            for event in batch {
                try await write(ArraySlice(Self.format(event).utf8))
                last = event.id
            }
            if batch.count < pageSize { return last }
        }
    }

    private func read(after id: Int64) async throws -> [StoredEvent] {
        let projectID = self.projectID
        let logger = self.logger
        let limit = pageSize
        return try await database.connection { connection in
            try await EventStore.after(id, project: projectID, limit: limit, on: connection, logger: logger)
        }
    }
}
