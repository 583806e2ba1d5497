import Synchronization

/// Fans a job's progress out to every request attached to it (the one that started it and any
/// that sent the same job id again). Each subscriber receives updates in order.
final class ProgressBroadcaster: Sendable {
    private let subscribers = Mutex<[Int: AsyncStream<ProgressUpdate>.Continuation]>([:])
    private let nextID = Atomic<Int>(0)
    private let latest = Mutex<ProgressUpdate?>(nil)

    func publish(_ update: ProgressUpdate) {
        latest.withLock { $0 = update }
        for continuation in subscribers.withLock({ Array($0.values) }) { continuation.yield(update) }
    }

    /// A stream of updates starting with the latest one; call `unsubscribe` to finish it.
    func subscribe() -> (id: Int, stream: AsyncStream<ProgressUpdate>) {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let (stream, continuation) = AsyncStream<ProgressUpdate>.makeStream(
            bufferingPolicy: .bufferingNewest(256)
        )
        if let latest = latest.withLock({ $0 }) { continuation.yield(latest) }
        subscribers.withLock { $0[id] = continuation }
        return (id, stream)
    }

    func unsubscribe(_ id: Int) {
        subscribers.withLock { $0.removeValue(forKey: id) }?.finish()
    }
}
