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
///
/// A following stream outlives a database outage: a read that fails is retried every
/// `safetyNetPoll`, with keep-alives meanwhile, and the stream resumes from its last id once
/// PostgreSQL answers. Ending it instead would send every follower of every project back at
/// once to a database that is just coming back (the soak found followers that never did).
struct EventFeed: Sendable {
    /// Up to `limit` of the project's events with ids above `after`, in id order.
    typealias Reader = @Sendable (_ after: Int64, _ limit: Int) async throws -> [StoredEvent]

    let hub: ChangeHub
    let projectID: String
    let safetyNetPoll: Duration
    let logger: Logger
    let reader: Reader
    var keepAlive: Duration = .seconds(15)
    /// Events per catch-up read.
    var pageSize = 200

    /// A feed of `projectID`'s rows in `events`.
    init(database: Database, hub: ChangeHub, projectID: String, safetyNetPoll: Duration, logger: Logger) {
        self.init(hub: hub, projectID: projectID, safetyNetPoll: safetyNetPoll, logger: logger) {
            after,
            limit in
            try await database.connection { connection in
                try await EventStore.after(
                    after,
                    project: projectID,
                    limit: limit,
                    on: connection,
                    logger: logger
                )
            }
        }
    }

    /// A feed whose events come from `reader`.
    init(hub: ChangeHub, projectID: String, safetyNetPoll: Duration, logger: Logger, reader: @escaping Reader)
    {
        self.hub = hub
        self.projectID = projectID
        self.safetyNetPoll = safetyNetPoll
        self.logger = logger
        self.reader = reader
    }

    /// Writes the events after `start`; with `follow`, then waits for new ones until cancelled or
    /// shut down, else returns once caught up. Only a failed write (the client is gone), or a
    /// failed read when not following, ends it with an error.
    func stream(
        after start: Int64,
        follow: Bool,
        write: (ArraySlice<UInt8>) async throws -> Void
    ) async throws {
        try await write(ArraySlice("retry: 1000\n\n".utf8))
        var last = start
        // Subscribed before the first read: whatever commits after that read is in the mailbox.
        try await hub.withEvents(of: projectID) { mailbox in
            guard follow else {
                do {
                    try await catchUp(from: &last, write: write)
                } catch let failure as ReadFailure {
                    throw failure.underlying
                }
                return
            }
            var owed = true  // a read from PostgreSQL is due: at first, or after lost notifications
            var pushed: [StoredEvent] = []
            var outageStarted: ContinuousClock.Instant?
            var lastWrite = ContinuousClock.now
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                let before = last
                if owed {
                    do {
                        try await catchUp(from: &last, write: write)
                        owed = false
                        if let started = outageStarted {
                            logger.info(
                                "event stream reads again",
                                metadata: [
                                    "project.id": "\(projectID)",
                                    "outage": "\(ContinuousClock.now - started)",
                                ]
                            )
                            outageStarted = nil
                        }
                    } catch let failure as ReadFailure {
                        if outageStarted == nil {
                            outageStarted = .now
                            logger.warning(
                                "event stream cannot read its events; it stays open and retries",
                                metadata: ["project.id": "\(projectID)", "error": "\(failure.underlying)"]
                            )
                        }
                    }
                } else {
                    for event in pushed where event.id > last {
                        try await write(ArraySlice(Self.format(event).utf8))
                        last = event.id
                    }
                }
                if last != before {
                    lastWrite = .now
                } else if ContinuousClock.now - lastWrite >= keepAlive {
                    try await write(ArraySlice(": keep-alive\n\n".utf8))
                    lastWrite = .now
                }
                let listening = hub.isListening
                let idle = keepAlive - (ContinuousClock.now - lastWrite)
                let wait = listening && !owed ? idle : min(idle, safetyNetPoll)
                let delivery = await mailbox.takeUnlessShuttingDown(within: wait)
                owed = owed || delivery.mustCatchUp || !listening
                pushed = delivery.items
            }
        }
    }

    static func format(_ event: StoredEvent) -> String {
        "id: \(event.id)\nevent: \(event.type)\ndata: \(event.payload)\n\n"
    }

    /// Writes every stored event after `last`, advancing `last` with each one written, so that a
    /// read failing part way leaves it at what the client has.
    private func catchUp(
        from last: inout Int64,
        write: (ArraySlice<UInt8>) async throws -> Void
    ) async throws {
        while true {
            let batch: [StoredEvent]
            do {
                batch = try await reader(last, pageSize)
            } catch {
                throw ReadFailure(underlying: error)
            }
            for event in batch {
                try await write(ArraySlice(Self.format(event).utf8))
                last = event.id
            }
            if batch.count < pageSize { return }
        }
    }

    /// A read of the events failed, as opposed to a write to the client.
    private struct ReadFailure: Error {
        let underlying: any Error
    }
}
