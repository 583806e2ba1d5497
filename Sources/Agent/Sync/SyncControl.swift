import RollbackProtocol
import Synchronization

/// Decides whether a cancel can still stop a sync. Before the point of no return (the swap) a
/// cancel stops the job and leaves everything untouched; after it the job finishes and reports
/// that the cancel was ignored.
final class CancellationState: Sendable {
    private struct State {
        var requested = false
        var committed = false
    }

    private let state = Mutex(State())

    /// Records a cancel request. Returns true when the job will stop without changing anything.
    func requestCancel() -> Bool {
        state.withLock { state in
            state.requested = true
            return !state.committed
        }
    }

    /// Throws `cancelled` if a cancel was requested (before the point of no return).
    func checkpoint() throws(RPCError) {
        if state.withLock({ $0.requested && !$0.committed }) {
            throw RPCError(.cancelled, "the sync was cancelled before the swap; nothing was changed")
        }
    }

    /// Passes the point of no return, unless a cancel arrived first (then throws `cancelled`).
    func commit() throws(RPCError) {
        let cancelled = state.withLock { state in
            if state.requested { return true }
            state.committed = true
            return false
        }
        if cancelled {
            throw RPCError(.cancelled, "the sync was cancelled before the swap; nothing was changed")
        }
    }

    /// True when a cancel arrived after the point of no return.
    var wasIgnored: Bool { state.withLock { $0.requested && $0.committed } }
}

/// One progress update of a job, before it is addressed to a particular request.
struct ProgressUpdate: Sendable {
    var phase: SyncPhase
    var percent: Int
    var bytesDone: Int64
    var bytesTotal: Int64
    var message: String?

    func notification(requestID: RequestID, jobID: String) -> JobProgress.Params {
        JobProgress.Params(
            requestID: requestID,
            jobID: jobID,
            percent: percent,
            phase: phase,
            bytesDone: bytesDone,
            bytesTotal: bytesTotal,
            message: message
        )
    }
}

/// Turns phase-local progress into one monotonic percentage and throttles it to about ten
/// updates a second. Phase changes and 100 % are always passed on.
final class ProgressReporter: Sendable {
    /// Share of the whole sync each phase covers, as [start, end) percent.
    static let phaseRanges: [SyncPhase: (Int, Int)] = [
        .accepted: (0, 1), .downloading: (1, 40), .verifying: (40, 45), .extracting: (45, 80),
        .swapping: (80, 85), .committing: (85, 99), .done: (100, 100),
    ]
    static let minimumInterval: Duration = .milliseconds(100)

    private struct State {
        var percent = 0
        var phase: SyncPhase?
        var lastEmitted: ContinuousClock.Instant?
    }

    private let state = Mutex(State())
    private let emit: @Sendable (ProgressUpdate) -> Void

    init(emit: @escaping @Sendable (ProgressUpdate) -> Void) {
        self.emit = emit
    }

    /// - Parameter fraction: progress within `phase`, 0...1.
    func report(
        _ phase: SyncPhase,
        fraction: Double = 0,
        bytesDone: Int64 = 0,
        bytesTotal: Int64 = 0,
        message: String? = nil
    ) {
        let now = ContinuousClock.now
        let update: ProgressUpdate? = state.withLock { state in
            let (start, end) = Self.phaseRanges[phase]!
            let proposed = start + Int((Double(end - start) * min(max(fraction, 0), 1)).rounded(.down))
            let percent = max(state.percent, proposed)
            let phaseChanged = state.phase != phase
            let due = state.lastEmitted.map { now - $0 >= Self.minimumInterval } ?? true
            guard phaseChanged || due || (percent == 100 && state.percent != 100) else { return nil }
            state.percent = percent
            state.phase = phase
            state.lastEmitted = now
            return ProgressUpdate(
                phase: phase,
                percent: percent,
                bytesDone: bytesDone,
                bytesTotal: bytesTotal,
                message: message
            )
        }
        if let update { emit(update) }
    }
}
