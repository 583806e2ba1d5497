import Foundation
import RollbackClient
import RollbackProtocol
import TestSupport
import Testing

@testable import RollbackBroker

/// Wake on change: the triggers' `NOTIFY`, one listening connection per broker process, and the
/// fan-out to event streams, dispatchers and running jobs. Every broker here polls only once a
/// minute, so whatever arrives sooner arrived by notification.
@Suite("Change notifications: LISTEN/NOTIFY instead of polling")
struct ChangeNotificationTests {
    static func slowSafetyNet(_ configuration: inout BrokerConfiguration) {
        configuration.safetyNetPollMilliseconds = 60_000
    }

    static func listening(_ broker: BrokerHarness) async throws {
        try await waitUntil("the broker's listening connection") { broker.server.changes.isListening }
    }

    /// Inserts an event of `type` for `project` as any writer would, in its own transaction.
    static func insertEvent(_ broker: BrokerHarness, project: String, type: String) async throws {
        try await broker.execute(
            "INSERT INTO events (project_id, type, payload) VALUES ('\(project)', '\(type)', '{\"projectId\":\"\(project)\"}')"
        )
    }

    @Test("a rollback is claimed and its events streamed at once, though nothing polls for a minute")
    func rollbackWithoutPolling() async throws {
        try await DispatchTests.withHost { host in
            let scene = try DispatchTests.Scene(host: host)
            try await BrokerHarness.with(
                roles: [.api, .dispatch],
                agents: [host],
                configure: Self.slowSafetyNet
            ) { broker in
                try await Self.listening(broker)
                let project = try await scene.project(on: broker)
                let started = ContinuousClock.now
                async let followed = broker.events(project: project, timeout: .seconds(20)) { events in
                    events.contains { $0.event == "rollbackCompleted" }
                }
                try await waitUntil("the follower's subscription") {
                    broker.server.changes.eventSubscribers(of: project) == 1
                }
                _ = try await DispatchTests.rollback(broker, project, to: scene.v1ID)
                let live = try await followed
                let elapsed = ContinuousClock.now - started
                #expect(elapsed < .seconds(20), "well inside the minute-long safety net: \(elapsed)")
                #expect(live.contains { $0.event == "rollbackStarted" })
                #expect(live.contains { $0.event == "rollbackProgress" })
                // What was pushed is exactly what PostgreSQL holds: same ids, same order, same data.
                let stored = try await broker.events(project: project) { events in
                    events.contains { $0.event == "rollbackCompleted" }
                }
                #expect(live.map(\.id) == stored.map(\.id))
                #expect(live.map(\.data) == stored.map(\.data))
                #expect(host.file(project, "index.html") == "<h1>one</h1>")
            }
        }
    }

    @Test("idle followers run no queries; an event reaches all of them by notification")
    func idleFollowersCostNothing() async throws {
        // A short safety net: a stream that polled would show within the window.
        try await BrokerHarness.with(configure: { $0.safetyNetPollMilliseconds = 400 }) { broker in
            try await Self.listening(broker)
            let project = try await broker.makeProject()
            let followers = 20
            try await withThrowingTaskGroup(of: [ServerSentEvent].self) { group in
                for _ in 0..<followers {
                    group.addTask {
                        try await broker.events(project: project.id, timeout: .seconds(30)) { events in
                            events.contains { $0.event == "test.ping" }
                        }
                    }
                }
                try await waitUntil("\(followers) open streams") {
                    broker.server.changes.eventSubscribers(of: project.id) == followers
                }
                let before = broker.server.database.uses
                // A measurement window, not a wait for a condition: whatever idle streams cost
                // would show as database uses in these two seconds.
                try await Task.sleep(for: .seconds(2))
                let idle = broker.server.database.uses - before
                #expect(idle == 0, "\(followers) idle streams used the database \(idle) times in 2 s")
                try await Self.insertEvent(broker, project: project.id, type: "test.ping")
                var received = 0
                for try await events in group {
                    #expect(events.filter { $0.event == "test.ping" }.count == 1)
                    received += 1
                }
                #expect(received == followers)
                #expect(broker.server.database.uses - before <= 1, "pushed, not read per stream")
            }
        }
    }

    @Test("a lost listening connection comes back, and streams catch up on what was missed")
    func listenerReconnects() async throws {
        try await BrokerHarness.with(configure: Self.slowSafetyNet) { broker in
            try await Self.listening(broker)
            let project = try await broker.makeProject()
            async let followed = broker.events(project: project.id, timeout: .seconds(30)) { events in
                events.contains { $0.event == "test.after" }
            }
            try await waitUntil("the follower's subscription") {
                broker.server.changes.eventSubscribers(of: project.id) == 1
            }
            let first = try #require(broker.server.changes.listenerBackendPID)
            try await broker.execute("SELECT pg_terminate_backend(\(first))")
            // Written while the listener may be down: its notification can be lost.
            try await Self.insertEvent(broker, project: project.id, type: "test.during")
            try await waitUntil("a new listening connection") {
                let pid = broker.server.changes.listenerBackendPID
                return pid != nil && pid != first
            }
            try await Self.insertEvent(broker, project: project.id, type: "test.after")
            let events = try await followed
            #expect(events.map(\.event).suffix(2) == ["test.during", "test.after"])
            let ids = events.compactMap { $0.id.flatMap(Int64.init) }
            #expect(ids == ids.sorted() && Set(ids).count == ids.count, "in order, once each")
        }
    }

    /// Found by the soak: after PostgreSQL restarted, a listening connection's ping never
    /// answered, and waiting for it (a task group waits for its children) kept the listener
    /// "listening" for good; every stream of that broker went silent. A stopped backend is such
    /// a connection: open, and answering nothing.
    @Test("a listening connection that stops answering is given up and replaced; streams go on")
    func listenerThatStopsAnswering() async throws {
        try await BrokerHarness.with(configure: { $0.safetyNetPollMilliseconds = 3000 }) { broker in
            try await Self.listening(broker)
            let project = try await broker.makeProject()
            async let followed = broker.events(project: project.id, timeout: .seconds(25)) { events in
                events.contains { $0.event == "test.after" }
            }
            try await waitUntil("the follower's subscription") {
                broker.server.changes.eventSubscribers(of: project.id) == 1
            }
            let stopped = try #require(broker.server.changes.listenerBackendPID)
            // Still this broker's listener (the pid is PostgreSQL's to reuse): stopping another
            // backend would stall some other test's work.
            try #require(
                try await broker.count(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = \(stopped) AND application_name = '\(ChangeListener.applicationName)'"
                ) == 1 && broker.server.changes.listenerBackendPID == stopped
            )
            try #require(
                kill(pid_t(stopped), SIGSTOP) == 0,
                "cannot stop PostgreSQL backend \(stopped): \(String(cString: strerror(errno)))"
            )
            do {
                try await Self.insertEvent(broker, project: project.id, type: "test.after")
                try await waitUntil(timeout: .seconds(15), "a new listening connection") {
                    let pid = broker.server.changes.listenerBackendPID
                    return pid != nil && pid != stopped
                }
                let events = try await followed
                #expect(events.last?.event == "test.after")
            } catch {
                kill(pid_t(stopped), SIGCONT)
                throw error
            }
            kill(pid_t(stopped), SIGCONT)
            try await broker.execute("SELECT pg_terminate_backend(\(stopped))")
        }
    }

    @Test("notification payloads decode; unknown kinds and bad JSON are ignored")
    func noticeDecoding() throws {
        let event = ChangeNotice(
            payload:
                #"{"kind":"event","id":7,"project":"shop","type":"rollbackStarted","payload":"{\"a\": 1}"}"#
        )
        #expect(
            event
                == .event(
                    StoredEvent(id: 7, projectID: "shop", type: "rollbackStarted", payload: #"{"a": 1}"#),
                    complete: true
                )
        )
        let large = ChangeNotice(
            payload: #"{"kind":"event","id":8,"project":"shop","type":"rollbackProgress"}"#
        )
        #expect(
            large
                == .event(
                    StoredEvent(id: 8, projectID: "shop", type: "rollbackProgress", payload: ""),
                    complete: false
                )
        )
        #expect(
            ChangeNotice(payload: #"{"kind":"job","host":"build-1","dueInMilliseconds":1500}"#)
                == .jobQueued(host: "build-1", dueIn: .milliseconds(1500))
        )
        let job = UUID()
        #expect(
            ChangeNotice(payload: #"{"kind":"cancel","host":"build-1","job":"\#(job.uuidString)"}"#)
                == .cancelRequested(host: "build-1", jobID: job)
        )
        #expect(ChangeNotice(payload: #"{"kind":"webhook"}"#) == .webhookQueued)
        #expect(ChangeNotice(payload: #"{"kind":"somethingNewer"}"#) == nil)
        #expect(ChangeNotice(payload: "not json") == nil)
        #expect(ChangeNotice(payload: #"{"kind":"cancel","host":"h","job":"not-a-uuid"}"#) == nil)
    }

    @Test("a mailbox wakes its reader, times out empty, and overflows into a catch-up")
    func mailbox() async throws {
        let box = Mailbox<Int>(capacity: 3)
        let empty = await box.take(within: .milliseconds(20))
        #expect(empty.isEmpty)
        async let woken = box.take(within: .seconds(30))
        box.post(1)
        #expect(await woken.items == [1])
        for value in 1...4 { box.post(value) }
        let overflowed = await box.take(within: .seconds(1))
        #expect(overflowed.items.isEmpty && overflowed.mustCatchUp)
        box.post(5)
        #expect(await box.take(within: .seconds(1)).items == [5])
    }
}
