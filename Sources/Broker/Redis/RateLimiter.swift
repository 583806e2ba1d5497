import RollbackProtocol

/// A per-user fixed-window counter in Redis: at most `limit` requests per `windowSeconds`.
public struct RateLimiter: Sendable {
    let redis: RedisClient
    let keys: RedisKeys
    public let limit: Int
    public let windowSeconds: Int64

    public init(redis: RedisClient, keys: RedisKeys, limit: Int, windowSeconds: Int64) {
        self.redis = redis
        self.keys = keys
        self.limit = limit
        self.windowSeconds = windowSeconds
    }

    /// Whether the request may go ahead, or after how many seconds the user may retry.
    public enum Decision: Sendable, Equatable {
        case allowed(remaining: Int)
        case limited(retryAfterSeconds: Int64)
    }

    /// Counts one request of `user` at `now` (Unix seconds) and says whether it may go ahead.
    public func admit(user: String, now: Int64) async throws(RedisError) -> Decision {
        let window = now / windowSeconds
        let key = keys.rateLimit(user: user, window: window)
        let replies = try await redis.commands([
            ["INCR", key],
            ["EXPIRE", key, String(windowSeconds + 1)],
        ])
        guard case .integer(let count) = try ProjectLock.check(replies[0]) else {
            throw RedisError(code: .commandFailed, message: "INCR gave \(replies[0])", endpoint: "")
        }
        if count <= limit { return .allowed(remaining: limit - Int(count)) }
        return .limited(retryAfterSeconds: max(1, (window + 1) * windowSeconds - now))
    }
}
