/// How a broker process delivers webhooks (`BrokerConfiguration.webhook*`).
public struct WebhookSettings: Sendable {
    /// Names this process in the subscription leases it takes.
    public var owner: String
    /// Subscriptions delivered to at once.
    public var concurrency: Int = 4
    /// How long a receiver may take to answer.
    public var timeout: Duration = .seconds(10)
    /// First retry delay; doubled per failed attempt, at most `retryMax`, with ±20 % jitter.
    public var retryBase: Duration = .seconds(1)
    public var retryMax: Duration = .seconds(3600)
    /// A subscription failing this long is disabled.
    public var giveUpSeconds: Int = 86_400
    /// How often the deliverer looks for due retries and expired leases without a notice.
    public var safetyNetPoll: Duration = .seconds(5)
    /// A claimed subscription's lease: another process takes it over after this long.
    public var leaseSeconds: Int = 60

    public init(
        owner: String,
        concurrency: Int = 4,
        timeout: Duration = .seconds(10),
        retryBase: Duration = .seconds(1),
        retryMax: Duration = .seconds(3600),
        giveUpSeconds: Int = 86_400,
        safetyNetPoll: Duration = .seconds(5)
    ) {
        self.owner = owner
        self.concurrency = concurrency
        self.timeout = timeout
        self.retryBase = retryBase
        self.retryMax = retryMax
        self.giveUpSeconds = giveUpSeconds
        self.safetyNetPoll = safetyNetPoll
        // Longer than the longest send, so a lease never lapses under a live sender.
        self.leaseSeconds = max(60, Int(timeout.components.seconds) * 3)
    }

    /// The delay before attempt `attempts + 1`, after `attempts` failures (≥ 1).
    func retryDelay(afterAttempts attempts: Int, jitter: Double = Double.random(in: 0.8...1.2)) -> Duration {
        let exponent = min(max(attempts - 1, 0), 30)
        let base = retryBase * (1 << exponent)
        return min(base, retryMax) * jitter
    }
}
