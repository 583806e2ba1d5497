import Foundation
import RollbackProtocol
import RollbackTransport
import Testing

/// What a stuck or hostile peer can hold: a frame begun and never finished ends its connection
/// after the frame timeout (`frame_timeout`), while a connection idle between frames is kept;
/// connections past the limit are refused (`too_many_connections`), and served again once one
/// closes.
@Suite("Connection limits")
struct ConnectionLimitTests {
    static let health = Array(#"{"jsonrpc":"2.0","id":1,"method":"agent.health","params":{}}"#.utf8)

    @Test("a frame begun and never finished: parse_error / frame_timeout after the timeout, then the close")
    func partialFrameTimesOut() async throws {
        var frame: [UInt8] = []
        FrameEncoder.encode(Frame(body: Self.health), into: &frame)
        try await TestServer.with(
            methods: RoundTripTests.streamingMethods(),
            configure: { $0.frameTimeout = .milliseconds(300) }
        ) { server in
            let clock = ContinuousClock()
            let started = clock.now
            // No half-close: only the server's timeout can end this.
            let reply = try await RawSocket.exchange(
                path: server.socketPath,
                send: Array(frame.prefix(20)),
                halfClose: false
            )
            #expect(clock.now - started >= .milliseconds(250))
            let error = try RawSocketTests.onlyError(in: reply)
            #expect(error.code == -32700)
            #expect(error.reason == "frame_timeout")
            #expect(error.idIsNull)
        }
    }

    @Test("a connection idle between frames is kept past the frame timeout")
    func idleBetweenFramesIsKept() async throws {
        try await TestServer.with(
            methods: RoundTripTests.streamingMethods(),
            configure: { $0.frameTimeout = .milliseconds(100) }
        ) { server in
            try await server.connect { connection in
                _ = try await connection.call(AgentHealth.self, EmptyParams())
                // Several frame timeouts with nothing in flight: the connection must survive.
                try await Task.sleep(for: .milliseconds(500))
                let health = try await connection.call(AgentHealth.self, EmptyParams())
                #expect(health.status == "ok")
            }
        }
    }

    @Test("past maxConnections: unavailable / too_many_connections, and served again once one closes")
    func connectionLimit() async throws {
        try await TestServer.with(
            methods: RoundTripTests.streamingMethods(),
            configure: { $0.maxConnections = 2 }
        ) { server in
            let held = try [
                RawSocket.connected(to: server.socketPath), RawSocket.connected(to: server.socketPath),
            ]
            // Both count once the server has taken them; until then a third may still be admitted,
            // and its half-close ends it without an answer.
            var refusal: RawSocketTests.ErrorAnswer?
            // Generous: in a full parallel run the server's tasks can wait seconds for a thread
            // (CI once saw the first attempt alone take 10 s), and that is not what this tests.
            let deadline = ContinuousClock.now + .seconds(45)
            while refusal == nil, ContinuousClock.now < deadline {
                let reply = try await RawSocket.exchange(path: server.socketPath, send: [])
                if !reply.isEmpty { refusal = try RawSocketTests.onlyError(in: reply) }
            }
            let error = try #require(refusal)
            #expect(error.code == RPCErrorCode.unavailable.rawValue)
            #expect(error.reason == "too_many_connections")
            close(held[0])
            defer { close(held[1]) }
            // A slot is free once the server has seen the close: poll until a call gets through.
            var answered = false
            let served = ContinuousClock.now + .seconds(45)
            while !answered, ContinuousClock.now < served {
                answered =
                    (try? await server.connect { try await $0.call(AgentHealth.self, EmptyParams()) }) != nil
            }
            #expect(answered)
        }
    }
}
