/// The per-project rollback lock in Redis: `SET NX` with a TTL, holding the epoch the rollback
/// will write. A fast guard only; PostgreSQL's compare-and-set of the project's status is the
/// real one. Released and extended only by its holder (compare-and-delete, compare-and-extend),
/// so a late worker can never remove a newer rollback's lock.
public struct ProjectLock: Sendable {
    let redis: RedisClient
    let keys: RedisKeys

    public init(redis: RedisClient, keys: RedisKeys) {
        self.redis = redis
        self.keys = keys
    }

    static let compareAndDelete = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end
        """
    static let compareAndExtend = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) else return 0 end
        """

    /// Takes the lock for `project` if nobody holds it. Returns false when it is held.
    public func acquire(project: String, epoch: Int64, ttlSeconds: Int) async throws(RedisError) -> Bool {
        let reply = try await redis.command([
            "SET", keys.lock(project: project), String(epoch), "NX", "EX", String(ttlSeconds),
        ])
        return try Self.check(reply) == .status("OK")
    }

    /// Takes the lock, replacing a stale one. The lock is stale when
    /// - it holds an epoch no newer than `settledEpoch` (the project's epoch in PostgreSQL, read
    ///   while the project is settled): that attempt has finished and merely failed to release
    ///   it; or
    /// - it holds a newer epoch but was taken at least `abandonedAfterSeconds` ago: the attempt
    ///   that took it never wrote (the project would no longer be settled at `settledEpoch`), and
    ///   an attempt writes within its request's deadline or not at all. This is the lock of a
    ///   request whose Redis reply was lost after Redis had set it.
    ///
    /// A stale lock is deleted (compare-and-delete) and taken once more. Taking over a live one
    /// by mistake would still be safe: the write's compare-and-set on the epoch is the real guard.
    public func acquireOrReplaceStale(
        project: String,
        epoch: Int64,
        settledEpoch: Int64,
        ttlSeconds: Int,
        abandonedAfterSeconds: Int
    ) async throws(RedisError) -> Bool {
        if try await acquire(project: project, epoch: epoch, ttlSeconds: ttlSeconds) { return true }
        let key = keys.lock(project: project)
        let replies = try await redis.commands([["GET", key], ["TTL", key]])
        guard case .string(let value) = try Self.check(replies[0]), let holder = Int64(value) else {
            // Released meanwhile (or not ours to read): one more try.
            return try await acquire(project: project, epoch: epoch, ttlSeconds: ttlSeconds)
        }
        let age: Int? =
            if case .integer(let remaining) = replies[1], remaining >= 0 {
                ttlSeconds - Int(remaining)
            } else {
                nil
            }
        let finished = holder <= settledEpoch
        let abandoned = age.map { $0 >= abandonedAfterSeconds } ?? false
        guard finished || abandoned else { return false }
        try await release(project: project, epoch: holder)
        return try await acquire(project: project, epoch: epoch, ttlSeconds: ttlSeconds)
    }

    /// What taking the lock with an idempotency claim came to.
    public enum ClaimedAcquisition: Sendable, Equatable {
        /// Both are ours.
        case acquired
        /// The project's lock is held by someone else (our claim was given back).
        case lockHeld
        /// Another request with the same Idempotency-Key holds the claim: ours is a retry of a
        /// request still in flight (the lock was not taken, or was given back).
        case claimHeld
    }

    /// Takes the idempotency claim (`claimKey`, valued `owner`, for `claimTTLMilliseconds`)
    /// and the project's lock in one round trip, then as `acquireOrReplaceStale`. The claim is
    /// checked first: a retry of a request in flight must learn that, whoever holds the lock.
    public func acquireOrReplaceStale(
        project: String,
        epoch: Int64,
        settledEpoch: Int64,
        ttlSeconds: Int,
        abandonedAfterSeconds: Int,
        claimKey: String,
        owner: String,
        claimTTLMilliseconds: Int
    ) async throws(RedisError) -> ClaimedAcquisition {
        let replies = try await redis.commands([
            ["SET", claimKey, owner, "NX", "PX", String(claimTTLMilliseconds)],
            ["SET", keys.lock(project: project), String(epoch), "NX", "EX", String(ttlSeconds)],
        ])
        let claimed = try Self.check(replies[0]) == .status("OK")
        let locked = try Self.check(replies[1]) == .status("OK")
        guard claimed else {
            if locked { try await release(project: project, epoch: epoch) }
            return .claimHeld
        }
        if locked { return .acquired }
        let acquired = try await acquireOrReplaceStale(
            project: project,
            epoch: epoch,
            settledEpoch: settledEpoch,
            ttlSeconds: ttlSeconds,
            abandonedAfterSeconds: abandonedAfterSeconds
        )
        if acquired { return .acquired }
        try await releaseClaim(claimKey, owner: owner)
        return .lockHeld
    }

    /// Gives back an idempotency claim if `owner` still holds it.
    public func releaseClaim(_ claimKey: String, owner: String) async throws(RedisError) {
        _ = try Self.check(try await redis.command(["EVAL", Self.compareAndDelete, "1", claimKey, owner]))
    }

    /// Deletes the lock only if it still holds `epoch`. Returns whether it did.
    @discardableResult
    public func release(project: String, epoch: Int64) async throws(RedisError) -> Bool {
        let reply = try await redis.command([
            "EVAL", Self.compareAndDelete, "1", keys.lock(project: project), String(epoch),
        ])
        return try Self.check(reply) == .integer(1)
    }

    /// Resets the TTL only if the lock still holds `epoch`. Returns whether it did.
    public func extend(project: String, epoch: Int64, ttlSeconds: Int) async throws(RedisError) -> Bool {
        let reply = try await redis.command([
            "EVAL", Self.compareAndExtend, "1", keys.lock(project: project), String(epoch),
            String(ttlSeconds),
        ])
        return try Self.check(reply) == .integer(1)
    }

    /// The epoch the lock holds, if any.
    public func holder(project: String) async throws(RedisError) -> Int64? {
        if case .string(let value) = try Self.check(
            try await redis.command(["GET", keys.lock(project: project)])
        ) {
            return Int64(value)
        }
        return nil
    }

    static func check(_ reply: RedisReply) throws(RedisError) -> RedisReply {
        if case .error(let message) = reply {
            throw RedisError(code: .commandFailed, message: message, endpoint: "")
        }
        return reply
    }
}
