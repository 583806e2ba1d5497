import RollbackBroker
import Testing

@Suite("The project lock in Redis")
struct ProjectLockTests {
    @Test("only the holder's epoch extends or releases the lock")
    func compareAndSet() async throws {
        let redis = RedisClient(endpoint: try TestEnvironment.redis())
        let keys = RedisKeys(prefix: "test-lock-\(UInt32.random(in: 0...UInt32.max))")
        let lock = ProjectLock(redis: redis, keys: keys)
        let project = "p1"

        #expect(try await lock.acquire(project: project, epoch: 5, ttlSeconds: 30))
        #expect(try await lock.acquire(project: project, epoch: 6, ttlSeconds: 30) == false)
        #expect(try await lock.holder(project: project) == 5)

        // A stale worker (epoch 4) can neither extend nor end the lock of epoch 5.
        #expect(try await lock.extend(project: project, epoch: 4, ttlSeconds: 900) == false)
        #expect(try await lock.release(project: project, epoch: 4) == false)
        guard case .integer(let before) = try await redis.command(["TTL", keys.lock(project: project)]) else {
            Issue.record("the lock has no TTL")
            return
        }
        #expect(before <= 30)

        // The holder extends it, then ends it.
        #expect(try await lock.extend(project: project, epoch: 5, ttlSeconds: 900))
        guard case .integer(let after) = try await redis.command(["TTL", keys.lock(project: project)]) else {
            Issue.record("the lock has no TTL")
            return
        }
        #expect(after > 800)
        #expect(try await lock.release(project: project, epoch: 5))
        #expect(try await lock.holder(project: project) == nil)
        #expect(try await lock.extend(project: project, epoch: 5, ttlSeconds: 900) == false)
    }
}
