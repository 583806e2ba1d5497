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
            // Each held connection is answered before the next opens, so both are counted before
            // the third: the server takes connections in tasks that may start in any order, and
            // under load a third taken first once got the second's place (CI: refused forever).
            var held: [Int32] = []
            for _ in 0..<2 {
                let fd = try RawSocket.connected(to: server.socketPath)
                held.append(fd)
                let answer = String(decoding: try RawSocket.answerToHealth(on: fd), as: UTF8.self)
                #expect(answer.hasPrefix("{") && !answer.contains("too_many_connections"), "\(answer)")
            }
            var refusal: RawSocketTests.ErrorAnswer?
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
