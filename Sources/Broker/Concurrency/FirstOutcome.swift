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

extension FirstOutcome {
    /// Runs `body` in a task of its own and returns what it returns, or throws `expired()` once
    /// `timeout` (if any) has passed, or `CancellationError` when the caller is cancelled:
    /// whichever comes first. A body that ignores cancellation is never waited for: it is
    /// cancelled and left to end on its own. The soak found postgres-nio calls that never return
    /// after PostgreSQL restarts (a pooled query; a `LISTEN` and the pings on its connection), and
    /// structured concurrency (a task group waits for its children) would wait with them.
    static func racing(
        timeout: Duration?,
        expired: @escaping @Sendable () -> any Error,
        _ body: @escaping @Sendable () async throws -> Value
    ) async throws -> Value {
        let outcome = FirstOutcome<Value>()
        let work = Task {
            do {
                outcome.settle(.success(try await body()))
            } catch {
                outcome.settle(.failure(error))
            }
        }
        let timer = timeout.map { timeout in
            Task {
                try await Task.sleep(for: timeout)
                outcome.settle(.failure(expired()))
            }
        }
        defer {
            work.cancel()
            timer?.cancel()
        }
        return try await withTaskCancellationHandler {
            try await outcome.value()
        } onCancel: {
            outcome.settle(.failure(CancellationError()))
        }
    }
}
