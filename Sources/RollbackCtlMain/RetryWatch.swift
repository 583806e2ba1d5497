import Foundation
import RollbackClient
import RollbackProtocol
import Synchronization

/// While `rollback --wait` follows a rollback, looks at its job whenever no progress has arrived
/// for a while, and says so when the dispatcher is retrying (an unreachable agent, say) instead
/// of leaving the operator looking at a silent bar.
final class RetryWatch: Sendable {
    private let lastProgress = Mutex(ContinuousClock.now)
    private let reported = Mutex<String?>(nil)
    let quietPeriod: Duration

    init(quietPeriod: Duration = .seconds(3)) {
        self.quietPeriod = quietPeriod
    }

    /// Called for every progress update.
    func progressed() { lastProgress.withLock { $0 = .now } }

    /// Runs until cancelled: every `quietPeriod` without progress, reads the job and reports a
    /// new retry once.
    func watch(_ client: BrokerClient, jobID: String, display: ProgressDisplay) async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: quietPeriod) } catch { return }
            let quiet = ContinuousClock.now - lastProgress.withLock { $0 }
            guard quiet >= quietPeriod, let job = try? await client.job(jobID) else { continue }
            guard [.queued, .running].contains(job.state), let code = job.errorCode else { continue }
            let line =
                "attempt \(job.attempts) failed (\(code): \(job.errorMessage ?? "-")); the dispatcher is retrying"
            let isNew = reported.withLock { last in
                defer { last = line }
                return last != line
            }
            if isNew { display.note(line) }
        }
    }
}
