/// Remembers the signatures of accepted requests, so the same signed bytes are refused the
/// second time (`signature_replayed`). The broker's is shared by every instance through Redis;
/// tests of the routes alone may give one that keeps tokens in memory.
public protocol ReplayGuard: Sendable {
    /// True the first time `token` is seen within `ttlSeconds`, false for a replay. Throws when
    /// it cannot tell (the request is then answered 503, never let through).
    func firstUse(of token: String, ttlSeconds: Int) async throws -> Bool
}

/// `SET <prefix>:seen-signature:<token> 1 NX EX <ttl>`.
struct RedisReplayGuard: ReplayGuard {
    let redis: RedisClient
    let keys: RedisKeys

    func firstUse(of token: String, ttlSeconds: Int) async throws -> Bool {
        let reply: RedisReply
        do {
            reply = try await redis.command([
                "SET", keys.seenSignature(token), "1", "NX", "EX", String(ttlSeconds),
            ])
        } catch {
            throw APIError.redisUnavailable("\(error)")
        }
        return reply != .null
    }
}
