import Synchronization

/// How many pieces of work a loop has running in its task group (jobs of a dispatcher,
/// subscriptions of the webhook deliverer), shared with the tasks that end them.
final class ActiveCount: Sendable {
    private let value = Atomic<Int>(0)
    var count: Int { value.load(ordering: .relaxed) }
    func add(_ delta: Int) { value.add(delta, ordering: .relaxed) }
}
