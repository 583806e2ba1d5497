// Protocol benchmark: frame codec throughput and signed round trips over a real Unix socket.
// Run in release: `swift run -c release protocol-benchmark` (or scripts/benchmark-protocol).
// Targets (issue 2): >= 500 MB/s frame encode+decode; >= 20,000 signed round trips/s on one
// connection on a 2-core machine.
import Foundation
import Logging
import NIOPosix
import RollbackProtocol
import RollbackTransport

let clock = ContinuousClock()

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

// MARK: Frame codec

func frameThroughput(bodySize: Int, signed: Bool) -> (mbPerSecond: Double, framesPerSecond: Double) {
    let body = Array(
        "{\"jsonrpc\":\"2.0\",\"method\":\"x.y\",\"params\":{\"p\":\"\(String(repeating: "a", count: max(0, bodySize - 48)))\"}}"
            .utf8
    )
    let auth =
        signed
        ? Array(
            #"{"kid":"k1","ts":1767225600,"nonce":"0123456789abcdef0123456789abcdef","sig":"\#(String(repeating: "0", count: 64))"}"#
                .utf8
        ) : []
    let frame = Frame(auth: auth, body: body)
    let framesPerBatch = max(1, (8 << 20) / frame.encodedLength)  // ~8 MiB per batch
    var totalBytes = 0
    var totalFrames = 0
    var checksum = 0
    let start = clock.now
    var wire: [UInt8] = []
    wire.reserveCapacity(framesPerBatch * frame.encodedLength)
    while clock.now - start < .seconds(2) {
        wire.removeAll(keepingCapacity: true)
        for _ in 0..<framesPerBatch { FrameEncoder.encode(frame, into: &wire) }
        var decoder = FrameDecoder()
        // Feed in 64 KiB reads, as a socket would deliver them.
        var offset = 0
        while offset < wire.count {
            let end = min(offset + 65_536, wire.count)
            wire[offset..<end].withUnsafeBytes { decoder.append($0) }
            while let decoded = try! decoder.nextFrame() { checksum &+= decoded.body.count }
            offset = end
        }
        totalBytes += wire.count
        totalFrames += framesPerBatch
    }
    let elapsed = seconds(clock.now - start)
    precondition(checksum == totalFrames * body.count)
    return (Double(totalBytes) / elapsed / 1_000_000, Double(totalFrames) / elapsed)
}

// MARK: Signed round trips

let keyring = try Keyring(keys: [
    try SigningKey(id: "bench", secret: Array("0123456789abcdef0123456789abcdef".utf8))
])
let signer = RequestSigner(agentID: "bench-agent", keyring: keyring)
let loopThreads = Int(ProcessInfo.processInfo.environment["BENCH_LOOP_THREADS"] ?? "1") ?? 1
let group = MultiThreadedEventLoopGroup(numberOfThreads: loopThreads)

func roundTrips(concurrency: Int, duration: Duration) async throws -> Double {
    var template = Array("/tmp/rbk-bench-XXXXXX".utf8CString)
    let directory = String(cString: template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!)! })
    defer { try? FileManager.default.removeItem(atPath: directory) }
    var methods = MethodRegistry()
    methods.register(JobStatus.self) { params, _ in
        JobStatus.Result(
            jobID: params.jobID,
            projectID: "proj-1",
            state: .running,
            phase: .extracting,
            percent: 42
        )
    }
    var logger = Logger(label: "bench")
    logger.logLevel = .warning
    let server = try await RPCServer.bind(
        configuration: RPCServerConfiguration(socketPath: "\(directory)/s.sock"),
        verifier: RequestVerifier(agentID: "bench-agent", keyring: keyring),
        methods: methods,
        logger: logger,
        eventLoopGroup: group
    )
    let serving = Task { try await server.serve() }
    defer { serving.cancel() }
    let count = try await RPCConnection.withConnection(
        socketPath: "\(directory)/s.sock",
        signer: signer,
        logger: logger,
        eventLoopGroup: group
    ) { connection in
        let deadline = clock.now + duration
        return try await withThrowingTaskGroup(of: Int.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var done = 0
                    while clock.now < deadline {
                        let result = try await connection.call(
                            JobStatus.self,
                            JobStatus.Params(jobID: "job-\(worker)")
                        )
                        precondition(result.percent == 42)
                        done += 1
                    }
                    return done
                }
            }
            return try await group.reduce(0, +)
        }
    }
    serving.cancel()
    _ = try? await serving.value
    return Double(count) / seconds(duration)
}

let only = CommandLine.arguments.dropFirst().first  // "frames" or "rpc" to run one part
print("Rollback protocol benchmark (\(ProcessInfo.processInfo.activeProcessorCount) cores)")
print("")
if only != "rpc" {
    print("frame encode+decode (64 KiB reads)")
    for (size, signed) in [(256, false), (256, true), (4096, true), (65_536, false)] {
        let result = frameThroughput(bodySize: size, signed: signed)
        print(
            String(
                format: "  body %6d B %@: %8.0f MB/s  %10.0f frames/s",
                size,
                signed ? "signed  " : "unsigned",
                result.mbPerSecond,
                result.framesPerSecond
            )
        )
    }
    print("  target: >= 500 MB/s")
    print("")
}
if only != "frames" {
    print("signed request/response round trips, one Unix-socket connection (3 s each)")
    print(
        "  client and server in this one process, \(loopThreads) NIO event-loop thread(s) (BENCH_LOOP_THREADS)"
    )
    for concurrency in [1, 16, 64] {
        let rate = try await roundTrips(concurrency: concurrency, duration: .seconds(3))
        print(String(format: "  %3d in flight: %8.0f round trips/s", concurrency, rate))
    }
    print("  target: >= 20,000 round trips/s")
}
