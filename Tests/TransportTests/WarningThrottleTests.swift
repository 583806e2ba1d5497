import Foundation
import InMemoryLogging
import Logging
import RollbackProtocol
import Testing

@testable import RollbackTransport

/// The socket's refusals are logged at most once per kind per interval, and the next line logged
/// says how many were held back: a flood of bad connections is a handful of lines, not thousands.
@Suite("Warning throttle")
struct WarningThrottleTests {
    @Test("one warning per kind per interval; the next says how many were held back")
    func throttles() {
        let throttle = WarningThrottle(interval: .seconds(10))
        let start = ContinuousClock.now
        #expect(throttle.admit("bad frame", at: start) == 0)
        #expect(throttle.admit("bad frame", at: start + .seconds(1)) == nil)
        #expect(throttle.admit("bad frame", at: start + .seconds(9)) == nil)
        #expect(throttle.admit("refused request", at: start + .seconds(9)) == 0, "kinds are apart")
        #expect(throttle.admit("bad frame", at: start + .seconds(10)) == 2)
        #expect(throttle.admit("bad frame", at: start + .seconds(11)) == nil)
        #expect(throttle.admit("bad frame", at: start + .seconds(30)) == 1)
        #expect(throttle.admit("bad frame", at: start + .seconds(60)) == 0)
    }

    @Test("a hundred connections sending bad frames: every one refused, one warning logged")
    func floodIsOneLine() async throws {
        let logs = InMemoryLogHandler()
        let logger = Logger(label: "test.server") { _ in logs }
        // A frame cut short, then the half-close: each connection gets its error and is closed.
        var frame: [UInt8] = []
        FrameEncoder.encode(Frame(body: ConnectionLimitTests.health), into: &frame)
        let truncated = Array(frame.prefix(5))
        // An interval longer than the test, however slow the machine (CI took 35 s once).
        try await TestServer.with(
            methods: RoundTripTests.streamingMethods(),
            configure: { $0.refusalLogInterval = .seconds(3600) },
            logger: logger
        ) { server in
            for _ in 0..<100 {
                let reply = try await RawSocket.exchange(path: server.socketPath, send: truncated)
                #expect(try RawSocketTests.onlyError(in: reply).code == -32700)
            }
        }
        let warnings = logs.entries.filter { $0.level == .warning && "\($0.message)".hasPrefix("bad frame") }
        #expect(warnings.count == 1, "\(warnings)")
    }
}
