import RollbackProtocol
import Synchronization

/// The requests one connection has in flight, so that `$/cancelRequest` can reach them.
final class InFlightRequests: Sendable {
    enum Admission {
        case admitted
        case duplicateID
        case full
    }

    private let limit: Int
    private let tasks = Mutex<[RequestID: Task<Void, Never>?]>([:])

    init(limit: Int) {
        self.limit = limit
    }

    /// Reserves `id` before its task exists, so a cancel racing the start is not lost.
    func admit(_ id: RequestID) -> Admission {
        tasks.withLock { tasks in
            if tasks.keys.contains(id) { return .duplicateID }
            if tasks.count >= limit { return .full }
            tasks[id] = .some(nil)
            return .admitted
        }
    }

    /// Records the task serving `id`, unless it already finished.
    func attach(_ task: Task<Void, Never>, to id: RequestID) {
        tasks.withLock { tasks in
            if tasks.keys.contains(id) { tasks[id] = .some(task) }
        }
    }

    func finish(_ id: RequestID) {
        _ = tasks.withLock { $0.removeValue(forKey: id) }
    }

    /// Cancels the request's handler; unknown or finished ids are ignored (the response may
    /// already be on its way, as in LSP).
    func cancel(_ id: RequestID) {
        let task = tasks.withLock { $0[id] ?? nil }
        task?.cancel()
    }

    /// Every running request's task.
    func all() -> [Task<Void, Never>] {
        tasks.withLock { Array($0.values.compactMap { $0 }) }
    }
}
