/// The knobs of request handling, taken from `BrokerConfiguration`.
public struct BrokerSettings: Sendable {
    /// The longest a rollback's sync may take; the lock's TTL is this plus 60 s.
    public var maxRollbackDurationSeconds: Int = 1800
    /// How long an `Idempotency-Key` and its answer are kept.
    public var idempotencyTTLSeconds: Int = 86_400
    /// How long a project's history is kept.
    public var historyRetentionDays: Int = 365
    /// Rollback and publish requests per user per window.
    public var rateLimitPerUser: Int = 60
    public var rateLimitWindowSeconds: Int64 = 60
    /// Accepted clock difference of signed requests, either way.
    public var signatureWindowSeconds: Int64 = 300
    /// Largest request body read.
    public var maxBodyBytes: Int = 64 * 1024
    /// How often an open event stream reads while change notifications are down (see
    /// `BrokerConfiguration.safetyNetPollMilliseconds`).
    public var safetyNetPoll: Duration = .seconds(5)
    /// The console's session cookie carries `Secure` (set when the API listener speaks TLS).
    public var secureCookies = false

    public init() {}

    public var lockTTLSeconds: Int { maxRollbackDurationSeconds + 60 }
}
