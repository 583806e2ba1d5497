import ServiceLifecycle
import Synchronization

/// What a subscriber of `ChangeHub` is handed: items posted since it last looked, or word that
/// some were lost (the box overflowed, or the listening connection was down) and it must catch
/// up from PostgreSQL.
struct MailboxDelivery<Item: Sendable>: Sendable {
    var items: [Item] = []
    var mustCatchUp = false
    var isEmpty: Bool { items.isEmpty && !mustCatchUp }
}

/// A bounded single-consumer queue with a timed wait. A producer never blocks: past `capacity`
/// the items are dropped and the consumer is told to catch up instead, so one slow reader costs
/// memory bounded by `capacity` and nothing else.
final class Mailbox<Item: Sendable>: Sendable {
    private struct State {
        var delivery = MailboxDelivery<Item>()
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Adds an item and wakes the consumer.
    func post(_ item: Item) {
        wake { delivery in
            if delivery.items.count >= capacity {
                delivery.items.removeAll()
                delivery.mustCatchUp = true
            } else if !delivery.mustCatchUp {
                delivery.items.append(item)
            }
        }
    }

    /// Tells the consumer to catch up from the source and wakes it.
    func requireCatchUp() {
        wake { delivery in
            delivery.items.removeAll()
            delivery.mustCatchUp = true
        }
    }

    /// What arrived, waiting up to `timeout` for something; empty after the timeout or when the
    /// task is cancelled.
    func take(within timeout: Duration) async -> MailboxDelivery<Item> {
        if let ready = takeIfAny() { return ready }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForPost() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
        return takeIfAny() ?? MailboxDelivery()
    }

    /// `take(within:)` that also returns (empty) when the service group shuts down gracefully.
    func takeUnlessShuttingDown(within timeout: Duration) async -> MailboxDelivery<Item> {
        let wait = max(timeout, .milliseconds(1))
        return await cancelWhenGracefulShutdown { await self.take(within: wait) }
    }

    private func takeIfAny() -> MailboxDelivery<Item>? {
        state.withLock { state in
            guard !state.delivery.isEmpty else { return nil }
            defer { state.delivery = MailboxDelivery() }
            return state.delivery
        }
    }

    private func wake(_ change: (inout MailboxDelivery<Item>) -> Void) {
        let waiter = state.withLock { state in
            change(&state.delivery)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    private func waitForPost() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state in
                    // Checked under the lock that `onCancel` takes: either it sees the waiter or
                    // this sees the cancellation.
                    if !state.delivery.isEmpty || Task.isCancelled { return true }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}
