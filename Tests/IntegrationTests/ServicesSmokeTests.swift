import Foundation
import Logging
import NIOPosix
import PostgresNIO
import RollbackBroker
import TestSupport
import Testing

@Suite("CI services")
struct ServicesSmokeTests {
    @Test("PostgreSQL answers a query over postgres-nio")
    func postgres() async throws {
        let endpoint = try TestEnvironment.postgres()
        let client = PostgresClient(
            configuration: .init(
                host: endpoint.host,
                port: endpoint.port,
                username: endpoint.username,
                password: endpoint.password,
                database: endpoint.database,
                tls: .disable
            ),
            backgroundLogger: Logger(label: "test.postgres")
        )
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await client.run() }
            let rows = try await client.query("SELECT current_database(), 6 * 7, version()")
            var seen = 0
            for try await (database, answer, version) in rows.decode((String, Int, String).self) {
                #expect(database == endpoint.database)
                #expect(answer == 42)
                #expect(version.hasPrefix("PostgreSQL 15"))
                seen += 1
            }
            #expect(seen == 1)
            group.cancelAll()
        }
    }

    @Test("Redis answers commands on the shared connection, replies in order, pipelined or not")
    func redis() async throws {
        let redis = RedisClient(endpoint: try TestEnvironment.redis())
        let key = "rollback:test:smoke:\(UInt64.random(in: 0...UInt64.max))"
        #expect(try await redis.command(["PING"]) == .status("PONG"))
        let replies = try await redis.commands([
            ["SET", key, "epoch-7", "NX", "EX", "60"],
            ["SET", key, "epoch-8", "NX", "EX", "60"],
            ["GET", key],
            ["DEL", key],
            ["NOSUCHCOMMAND"],
        ])
        #expect(replies[0] == .status("OK"))
        #expect(replies[1] == .null)  // NX: the second SET must not take the key
        #expect(replies[2] == .string("epoch-7"))
        #expect(replies[3] == .integer(1))
        guard case .error(let message) = replies[4] else {
            Issue.record("an unknown command should give an error reply")
            return
        }
        #expect(message.contains("unknown command"))
    }

    @Test("concurrent callers on the one connection each get their own replies")
    func redisConcurrentCallers() async throws {
        let redis = RedisClient(endpoint: try TestEnvironment.redis())
        let prefix = "rollback:test:smoke:\(UInt64.random(in: 0...UInt64.max))"
        try await withThrowingTaskGroup(of: Void.self) { group in
            for caller in 0..<200 {
                group.addTask {
                    let key = "\(prefix):\(caller)"
                    let replies = try await redis.commands([
                        ["SET", key, "value-\(caller)", "EX", "60"],
                        ["GET", key],
                        ["DEL", key],
                    ])
                    #expect(replies == [.status("OK"), .string("value-\(caller)"), .integer(1)])
                }
            }
            try await group.waitForAll()
        }
    }

    @Test("a Redis that accepts but never answers fails each command by its deadline, not a hang")
    func redisSilent() async throws {
        let directory = TemporaryFiles.directory(prefix: "rbk-redis-silent")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let silent = try await FixtureServer.silent(in: directory)
        defer { silent.stop() }
        let redis = RedisClient(
            endpoint: try RedisEndpoint(url: "redis://127.0.0.1:\(silent.port)"),
            timeout: .milliseconds(300)
        )
        // Twice: the second command goes out on a new connection, as the first one was dropped.
        for _ in 0..<2 {
            let started = ContinuousClock.now
            await #expect {
                _ = try await redis.commands([["PING"], ["PING"]])
            } throws: { error in
                (error as? RedisError)?.code == .io && "\(error)".contains("no reply within")
            }
            // The deadline is 300 ms; a hang would be minutes. Generous for a loaded 2-core CI.
            #expect(ContinuousClock.now - started < .seconds(15))
        }
    }

    @Test("an unreachable Redis is a clear error, not a hang or a crash")
    func redisUnreachable() async throws {
        let redis = RedisClient(
            endpoint: try RedisEndpoint(url: "redis://127.0.0.1:1"),
            timeout: .milliseconds(500)
        )
        await #expect {
            _ = try await redis.command(["PING"])
        } throws: { error in
            (error as? RedisError)?.code == .unreachable
        }
    }
}
