/// The dispatcher's knobs (from `BrokerConfiguration`).
public struct DispatchSettings: Sendable {
    /// A unique name for this dispatcher, stored as the lease owner.
    public var owner: String
    public var leaseSeconds = 30
    /// How often it looks for due jobs and expired leases without being notified.
    public var safetyNetPoll: Duration = .seconds(5)
    /// Jobs run at once by this dispatcher (never two of one project: the queue allows one).
    public var concurrency = 4
    /// First retry delay; doubled per attempt, capped at `maxBackoff`.
    public var retryBackoff: Duration = .seconds(1)
    public var maxBackoff: Duration = .seconds(30)
    /// Progress is stored (and becomes an event) at most this often, and on every phase change.
    public var progressInterval: Duration = .milliseconds(500)
    /// TTL the project lock is extended to on every heartbeat.
    public var lockTTLSeconds = 1860

    public init(owner: String) {
        self.owner = owner
    }

    /// The delay before the next attempt after attempt number `attempt` failed.
    public func backoff(afterAttempt attempt: Int) -> Duration {
        let factor = 1 << min(max(attempt - 1, 0), 16)
        return min(retryBackoff * factor, maxBackoff)
    }
}
