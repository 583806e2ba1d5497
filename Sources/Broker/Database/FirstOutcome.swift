import Synchronization

/// The first of several racing outcomes (a query, its deadline, the caller's cancellation),
/// handed to one waiter; later ones are dropped.
final class FirstOutcome<Value: Sendable>: Sendable {
    private enum State {
        case pending(CheckedContinuation<Value, any Error>?)
        case settled(Result<Value, any Error>)
    }

    private let state = Mutex<State>(.pending(nil))

    /// Records `result` unless an outcome came first; resumes the waiter if there is one.
    func settle(_ result: Result<Value, any Error>) {
        let waiter = state.withLock { state -> CheckedContinuation<Value, any Error>? in
            guard case .pending(let waiter) = state else { return nil }
            state = .settled(result)
            return waiter
        }
        waiter?.resume(with: result)
    }

    /// The first outcome, once there is one.
    func value() async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            let settled = state.withLock { state -> Result<Value, any Error>? in
                switch state {
                case .settled(let result): return result
                case .pending:
                    state = .pending(continuation)
                    return nil
                }
            }
            if let settled { continuation.resume(with: settled) }
        }
    }
}
