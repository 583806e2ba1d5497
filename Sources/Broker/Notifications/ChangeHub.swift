import Foundation
import Synchronization

/// The fan-out of one broker process's `ChangeListener`: every open event stream, dispatcher and
/// running job registers a `Mailbox` for what concerns it (a project's events, a host's jobs, a
/// job's cancel), and each notification is posted to those mailboxes only. Nothing here queries
/// PostgreSQL: a stream with nothing to read costs nothing.
public final class ChangeHub: Sendable {
    fileprivate struct Registry {
        var events: [String: [ObjectIdentifier: Mailbox<StoredEvent>]] = [:]
        var jobs: [String: [ObjectIdentifier: Mailbox<Duration>]] = [:]
        var cancels: [UUID: [ObjectIdentifier: Mailbox<UUID>]] = [:]
        var webhooks: [ObjectIdentifier: Mailbox<Bool>] = [:]
        var listening = false
        var listenerBackendPID: Int32?
    }

    private let registry = Mutex(Registry())
    /// How many notifications one subscriber may have unread before it is told to catch up.
    let mailboxCapacity: Int

    /// - Parameter mailboxCapacity: unread notifications one subscriber may have before it is
    ///   told to catch up from PostgreSQL instead.
    public init(mailboxCapacity: Int = 1024) {
        self.mailboxCapacity = mailboxCapacity
    }

    /// True while the listening connection is up, so that notifications arrive. While false,
    /// subscribers fall back to their safety-net poll.
    var isListening: Bool { registry.withLock { $0.listening } }

    /// The PostgreSQL backend of the listening session while it is up (for `pg_stat_activity`).
    var listenerBackendPID: Int32? { registry.withLock { $0.listening ? $0.listenerBackendPID : nil } }

    /// Open event streams of `project` in this process.
    func eventSubscribers(of project: String) -> Int { registry.withLock { $0.events[project]?.count ?? 0 } }

    // MARK: Subscribing

    /// Runs `body` with a mailbox that receives `project`'s committed events, in commit order.
    func withEvents<Result>(
        of project: String,
        _ body: (Mailbox<StoredEvent>) async throws -> Result
    ) async rethrows -> Result {
        let mailbox = Mailbox<StoredEvent>(capacity: mailboxCapacity)
        let key = ObjectIdentifier(mailbox)
        registry.withLock { $0.events[project, default: [:]][key] = mailbox }
        defer {
            registry.withLock {
                $0.events[project]?[key] = nil;
                if $0.events[project]?.isEmpty == true { $0.events[project] = nil }
            }
        }
        return try await body(mailbox)
    }

    /// Runs `body` with a mailbox that receives, for each job of `hosts` that becomes queued, how
    /// soon it is due.
    func withJobs<Result>(
        of hosts: [String],
        _ body: (Mailbox<Duration>) async throws -> Result
    ) async rethrows -> Result {
        let mailbox = Mailbox<Duration>(capacity: mailboxCapacity)
        let key = ObjectIdentifier(mailbox)
        registry.withLock { registry in
            for host in hosts { registry.jobs[host, default: [:]][key] = mailbox }
        }
        defer {
            registry.withLock { registry in
                for host in hosts {
                    registry.jobs[host]?[key] = nil
                    if registry.jobs[host]?.isEmpty == true { registry.jobs[host] = nil }
                }
            }
        }
        return try await body(mailbox)
    }

    /// Runs `body` with a mailbox that receives the job's id when a cancel is requested for it.
    func withCancels<Result>(
        of job: UUID,
        _ body: (Mailbox<UUID>) async throws -> Result
    ) async rethrows -> Result {
        let mailbox = Mailbox<UUID>(capacity: 4)
        let key = ObjectIdentifier(mailbox)
        registry.withLock { $0.cancels[job, default: [:]][key] = mailbox }
        defer {
            registry.withLock {
                $0.cancels[job]?[key] = nil; if $0.cancels[job]?.isEmpty == true { $0.cancels[job] = nil }
            }
        }
        return try await body(mailbox)
    }

    /// Runs `body` with a mailbox that is posted to whenever a webhook delivery is queued.
    func withWebhooks<Result>(_ body: (Mailbox<Bool>) async throws -> Result) async rethrows -> Result {
        let mailbox = Mailbox<Bool>(capacity: 4)
        let key = ObjectIdentifier(mailbox)
        registry.withLock { $0.webhooks[key] = mailbox }
        defer { registry.withLock { $0.webhooks[key] = nil } }
        return try await body(mailbox)
    }

    // MARK: Delivering (the listener's side)

    /// Posts a notification to the mailboxes it concerns.
    func deliver(_ notice: ChangeNotice) {
        switch notice {
        case .event(let event, let complete):
            let boxes = registry.withLock { Array(($0.events[event.projectID] ?? [:]).values) }
            for box in boxes {
                if complete { box.post(event) } else { box.requireCatchUp() }
            }
        case .jobQueued(let host, let dueIn):
            let boxes = registry.withLock { Array(($0.jobs[host] ?? [:]).values) }
            for box in boxes { box.post(dueIn) }
        case .cancelRequested(_, let job):
            let boxes = registry.withLock { Array(($0.cancels[job] ?? [:]).values) }
            for box in boxes { box.post(job) }
        case .webhookQueued:
            let boxes = registry.withLock { Array($0.webhooks.values) }
            for box in boxes { box.post(true) }
        }
    }

    /// The listening connection is up (again): every subscriber catches up once, since
    /// notifications sent while it was down are gone.
    func listeningStarted(backendPID: Int32?) {
        let boxes = registry.withLock { registry in
            registry.listening = true
            registry.listenerBackendPID = backendPID
            return registry.allMailboxes
        }
        for box in boxes { box() }
    }

    /// The listening connection is down: subscribers poll until it is back.
    func listeningStopped() {
        let boxes = registry.withLock { registry in
            registry.listening = false
            return registry.allMailboxes
        }
        // Wake them so that they notice at once rather than after their idle wait.
        for box in boxes { box() }
    }
}

extension ChangeHub.Registry {
    /// Each mailbox's `requireCatchUp`.
    fileprivate var allMailboxes: [@Sendable () -> Void] {
        var wakes: [@Sendable () -> Void] = []
        for boxes in events.values {
            for box in boxes.values { wakes.append { box.requireCatchUp() } }
        }
        for boxes in jobs.values {
            for box in boxes.values { wakes.append { box.requireCatchUp() } }
        }
        for boxes in cancels.values {
            for box in boxes.values { wakes.append { box.requireCatchUp() } }
        }
        for box in webhooks.values { wakes.append { box.requireCatchUp() } }
        return wakes
    }
}
