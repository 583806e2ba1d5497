import Logging
import NIOPosix
import PostgresNIO
import RollbackBroker
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

    @Test("Redis answers commands through the hiredis wrapper, off the cooperative pool")
    func redis() async throws {
        let endpoint = try TestEnvironment.redis()
        let key = "rollback:test:smoke:\(UInt64.random(in: 0...UInt64.max))"
        let replies = try await NIOThreadPool.singleton.runIfActive {
            let redis = try RedisConnection(host: endpoint.host, port: endpoint.port)
            return [
                try redis.command(["PING"]),
                try redis.command(["SET", key, "epoch-7", "NX", "EX", "60"]),
                try redis.command(["SET", key, "epoch-8", "NX", "EX", "60"]),
                try redis.command(["GET", key]),
                try redis.command(["DEL", key]),
                try redis.command(["NOSUCHCOMMAND"]),
            ]
        }
        #expect(replies[0] == .status("PONG"))
        #expect(replies[1] == .status("OK"))
        #expect(replies[2] == .null)  // NX: the second SET must not take the key
        #expect(replies[3] == .string("epoch-7"))
        #expect(replies[4] == .integer(1))
        guard case .error(let message) = replies[5] else {
            Issue.record("an unknown command should give an error reply")
            return
        }
        #expect(message.contains("unknown command"))
    }

    @Test("an unreachable Redis is a clear error, not a hang or a crash")
    func redisUnreachable() async throws {
        await #expect {
            try await NIOThreadPool.singleton.runIfActive {
                _ = try RedisConnection(host: "127.0.0.1", port: 1, timeout: .milliseconds(500))
            }
        } throws: { error in
            (error as? RedisError)?.code == .unreachable
        }
    }
}
