/// Every key and channel the broker uses in Redis, under one configurable prefix.
/// Redis only ever holds what may be lost (see `spec/state-machine.md`, "What lives where").
public struct RedisKeys: Sendable {
    public let prefix: String

    public init(prefix: String = "rollback") {
        self.prefix = prefix
    }

    public func lock(project: String) -> String { "\(prefix):lock:\(project)" }
    public func latestVersion(project: String) -> String { "\(prefix):latest-version:\(project)" }
    public func events(project: String) -> String { "\(prefix):events:\(project)" }
    /// Held while a request with one Idempotency-Key is between its read and its write, so a
    /// retry of it is told `idempotency_key_in_flight`, not `rollback_in_progress`.
    public func idempotencyClaim(_ id: Int64) -> String { "\(prefix):idempotency-claim:\(id)" }
    public func seenSignature(_ token: String) -> String { "\(prefix):seen-signature:\(token)" }
    public func rateLimit(user: String, window: Int64) -> String { "\(prefix):rate:\(user):\(window)" }
    public var buildStream: String { "\(prefix):builds" }
}
