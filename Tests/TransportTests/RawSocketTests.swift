import Foundation
import RollbackProtocol
import RollbackTransport
import Testing

/// What a peer that speaks bytes, not the client library, sees: a frame cut short before the
/// peer's half-close, an auth section that is not UTF-8. Each gets the §2 answer — `parse_error`
/// with `id: null` and the reason — and then the connection closes.
@Suite("Bad frames from a raw socket")
struct RawSocketTests {
    @Test(
        "a frame cut short, then the peer's half-close: parse_error / truncated before the close",
        arguments: [5, 30]
    )
    func truncatedThenHalfClose(bytesSent: Int) async throws {
        let body = Array(#"{"jsonrpc":"2.0","id":1,"method":"agent.health","params":{}}"#.utf8)
        var frame: [UInt8] = []
        FrameEncoder.encode(Frame(body: body), into: &frame)
        #expect(frame.count == 68)
        try await TestServer.with(methods: RoundTripTests.streamingMethods()) { server in
            let reply = try await RawSocket.exchange(
                path: server.socketPath,
                send: Array(frame.prefix(bytesSent))
            )
            let error = try Self.onlyError(in: reply)
            #expect(error.code == -32700)
            #expect(error.reason == "truncated")
            #expect(error.idIsNull)
        }
    }

    @Test("an auth section that is not UTF-8: parse_error / invalid_utf8 with id null, then the close")
    func authNotUTF8() async throws {
        let body = Array(#"{"jsonrpc":"2.0","id":7,"method":"agent.health","params":{}}"#.utf8)
        var frame: [UInt8] = []
        FrameEncoder.encode(
            Frame(auth: Array(#"{"kid":"k1","#.utf8) + [0xff, 0xfe] + Array("}".utf8), body: body),
            into: &frame
        )
        try await TestServer.with(methods: RoundTripTests.streamingMethods()) { server in
            // No half-close: the server must close by itself after its answer.
            let reply = try await RawSocket.exchange(path: server.socketPath, send: frame, halfClose: false)
            let error = try Self.onlyError(in: reply)
            #expect(error.code == -32700)
            #expect(error.reason == "invalid_utf8")
            #expect(error.idIsNull)
        }
    }

    struct ErrorAnswer {
        var code: Int
        var reason: String?
        var idIsNull: Bool
    }

    /// The single frame of `bytes`, read as an error response.
    static func onlyError(in bytes: [UInt8]) throws -> ErrorAnswer {
        var decoder = FrameDecoder()
        decoder.append(bytes)
        let frame = try #require(try decoder.nextFrame(), "no complete frame in \(bytes.count) bytes")
        #expect(try decoder.nextFrame() == nil)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(frame.body)) as? [String: Any])
        let error = try #require(object["error"] as? [String: Any])
        let details = (error["data"] as? [String: Any])?["details"] as? [String: Any]
        return ErrorAnswer(
            code: error["code"] as? Int ?? 0,
            reason: details?["reason"] as? String,
            idIsNull: object["id"] is NSNull
        )
    }
}

/// A plain blocking Unix socket on a thread of its own (never on the cooperative pool).
enum RawSocket {
    /// Connects, sends `bytes`, half-closes (optionally), and reads until the server closes or
    /// 30 s pass; returns what was read. (The server answers in milliseconds; under the whole
    /// suite's parallel load, its tasks once waited over 10 s for a cooperative thread.)
    static func exchange(path: String, send bytes: [UInt8], halfClose: Bool = true) async throws -> [UInt8] {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(
                    with: Result { try blockingExchange(path: path, send: bytes, halfClose: halfClose) }
                )
            }
        }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// A connected blocking socket, for the caller to close.
    static func connected(to path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            throw Failure(description: "connect: \(errno)")
        }
        return fd
    }

    /// Sends an `agent.health` request on the open socket `fd` and returns the body of the first
    /// frame that comes back, leaving the connection open. Blocking, 10 s at most.
    static func answerToHealth(on fd: Int32) throws -> [UInt8] {
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request: [UInt8] = []
        FrameEncoder.encode(Frame(body: ConnectionLimitTests.health), into: &request)
        let written = request.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == request.count else { throw Failure(description: "write: \(errno)") }
        var decoder = FrameDecoder()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let frame = try decoder.nextFrame() { return frame.body }
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { throw Failure(description: "no answer within 10 s") }
            decoder.append(chunk[..<count])
        }
    }

    private static func blockingExchange(path: String, send bytes: [UInt8], halfClose: Bool) throws -> [UInt8]
    {
        let fd = try connected(to: path)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw Failure(description: "write: \(errno)") }
        if halfClose { shutdown(fd, Int32(SHUT_WR)) }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count == 0 { return received }
            guard count > 0 else {
                throw Failure(description: "no close within 30 s (read \(received.count) bytes)")
            }
            received += chunk[..<count]
        }
    }
}
