import Foundation
import Synchronization
import TestSupport
import Testing

@testable import RollbackBroker

/// The event stream's own logic, with a reader standing in for PostgreSQL (the soak and
/// `ChangeNotificationTests` run it against the real one).
@Suite("Event feed")
struct EventFeedTests {
    /// Events to read, and whether reads fail (as they do while PostgreSQL restarts).
    final class Source: Sendable {
        private struct State {
            var events: [StoredEvent] = []
            var failing = false
            var failedReads = 0
        }
        private let state = Mutex(State())

        func add(_ count: Int) {
            state.withLock { state in
                for _ in 0..<count {
                    let id = Int64(state.events.count + 1)
                    state.events.append(StoredEvent(id: id, projectID: "p", type: "test", payload: "{}"))
                }
            }
        }

        func setFailing(_ failing: Bool) { state.withLock { $0.failing = failing } }
        var failedReads: Int { state.withLock { $0.failedReads } }

        func read(after id: Int64, limit: Int) throws -> [StoredEvent] {
            try state.withLock { state in
                // Fails only past the first page, so a catch-up can fail part way.
                if state.failing && id > 0 {
                    state.failedReads += 1
                    throw APIError.databaseUnavailable("PostgreSQL is restarting")
                }
                return Array(state.events.filter { $0.id > id }.prefix(limit))
            }
        }
    }

    /// What the stream wrote.
    final class Written: Sendable {
        private let text = Mutex("")
        func append(_ chunk: ArraySlice<UInt8>) {
            text.withLock { $0 += String(decoding: chunk, as: UTF8.self) }
        }
        var ids: [Int64] {
            text.withLock { text in
                text.split(separator: "\n").compactMap { line in
                    line.hasPrefix("id: ") ? Int64(line.dropFirst(4)) : nil
                }
            }
        }
    }

    /// A feed of `source`, reading two events a page and polling every 20 ms (no listener runs).
    static func feed(of source: Source) -> EventFeed {
        var feed = EventFeed(
            hub: ChangeHub(),
            projectID: "p",
            safetyNetPoll: .milliseconds(20),
            logger: BrokerHarness.logger
        ) { after, limit in try source.read(after: after, limit: limit) }
        feed.pageSize = 2
        return feed
    }

    @Test("a following stream outlives failed reads and resumes from its last id, gapless and once")
    func outlivesAnOutage() async throws {
        let source = Source()
        let written = Written()
        let feed = Self.feed(of: source)
        source.add(3)
        let stream = Task { try await feed.stream(after: 0, follow: true) { written.append($0) } }
        defer { stream.cancel() }
        try await waitUntil("the first three events") { written.ids.count == 3 }

        source.setFailing(true)
        source.add(3)
        try await waitUntil("several failed reads") { source.failedReads >= 5 }
        #expect(written.ids == [1, 2, 3], "nothing written while reads fail")

        source.setFailing(false)
        source.add(1)
        try await waitUntil("the events written meanwhile and after") { written.ids.count >= 7 }
        stream.cancel()
        try await stream.value
        #expect(written.ids == Array(1...7), "gapless, in order, once each")
    }

    @Test("a stream that does not follow ends with the read's error")
    func notFollowingEndsWithTheError() async throws {
        let source = Source()
        source.add(5)
        source.setFailing(true)
        let written = Written()
        let feed = Self.feed(of: source)
        await #expect(throws: APIError.self) {
            try await feed.stream(after: 0, follow: false) { written.append($0) }
        }
        #expect(written.ids == [1, 2], "the first page, then the failure")
    }
}
