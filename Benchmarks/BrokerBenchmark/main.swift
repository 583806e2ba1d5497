// Load generator for the broker's rollback endpoint (`scripts/benchmark-broker` runs it against a
// release broker on loopback). Each request rolls back a different project, so every one is a
// full rollback transaction, never a cheap 409.
//
//   broker-benchmark <port> <keyring.json> <first project index> paced <rate/s> <seconds> <connections>
//   broker-benchmark <port> <keyring.json> <first project index> max <seconds> <connections>
//
// Latency in the paced run is measured from each request's scheduled start, so a stall is
// counted against every request it delays (no coordinated omission).
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import RollbackClient
import RollbackProtocol

let arguments = CommandLine.arguments
guard arguments.count >= 7, let port = Int(arguments[1]), let first = Int(arguments[3]) else {
    FileHandle.standardError.write(
        Data("usage: see the comment at the top of Benchmarks/BrokerBenchmark/main.swift\n".utf8)
    )
    exit(2)
}
let keyring = try Keyring(json: Array(try Data(contentsOf: URL(fileURLWithPath: arguments[2]))))
let signer = HTTPRequestSigner(key: keyring.activeKey)
let mode = arguments[4]

/// Hands out project indexes, one per request.
let counter = NIOLockedValueBox(0)
@Sendable func nextIndex() -> Int {
    counter.withLockedValue { value in
        defer { value += 1 }
        return value
    }
}

struct Outcome: Sendable {
    var latencies: [Double] = []
    var statuses: [Int: Int] = [:]
}

/// One signed request, built before the clock starts (as pgbench has its SQL ready), so that the
/// load generator's own JSON and HMAC work does not take CPU from the broker during the run.
struct PreparedRequest: Sendable {
    var body: [UInt8]
    var headers: [(name: String, value: String)]
}

func prepare(count: Int) throws -> [PreparedRequest] {
    try (0..<count).map { index in
        let n = first + index
        let body = Array(
            try JSONEncoder().encode(
                RollbackRequest(
                    userID: "bench-user-\(n)",
                    projectID: "bench-\(n)",
                    targetVersionID: "bench-v-\(n)"
                )
            )
        )
        var headers = signer.headers(method: "POST", target: "/v1/versions/rollback", body: body)
        headers.append(("Idempotency-Key", "bench-\(n)"))
        return PreparedRequest(body: body, headers: headers)
    }
}

/// The request as bytes on the wire, for the event-loop-driven maximum run.
func encode(_ request: PreparedRequest) -> [UInt8] {
    var head = "POST /v1/versions/rollback HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
    head += "Content-Type: application/json\r\nContent-Length: \(request.body.count)\r\n"
    for (name, value) in request.headers { head += "\(name): \(value)\r\n" }
    return Array((head + "\r\n").utf8) + request.body
}

func send(_ connection: HTTP1Connection, _ request: PreparedRequest) async throws -> Int {
    try await connection.send(
        method: "POST",
        target: "/v1/versions/rollback",
        headers: request.headers,
        body: request.body
    ).status
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    return sorted[min(sorted.count - 1, Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1)]
}

/// The CPU seconds (user and system) this process has used so far.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let time = { (value: timeval) in Double(value.tv_sec) + Double(value.tv_usec) / 1e6 }
    return time(usage.ru_utime) + time(usage.ru_stime)
}

/// Prints the run's figures; `cpu` is the CPU seconds the load generator spent during the run.
func report(_ outcome: Outcome, seconds: Double, cpu: Double, label: String) {
    let sorted = outcome.latencies.sorted()
    let ms = { (value: Double) in String(format: "%.2f", value * 1000) }
    print(
        "\(label): \(sorted.count) requests in \(String(format: "%.1f", seconds)) s = \(String(format: "%.0f", Double(sorted.count) / seconds))/s; "
            + "latency ms p50 \(ms(percentile(sorted, 50))) p90 \(ms(percentile(sorted, 90))) "
            + "p99 \(ms(percentile(sorted, 99))) max \(ms(sorted.last ?? .nan)); statuses \(outcome.statuses.sorted { $0.key < $1.key }); "
            + "load generator CPU \(String(format: "%.3f", cpu * 1000 / Double(max(1, sorted.count)))) ms per request"
    )
}

/// One request's latency in seconds.
func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

let clock = ContinuousClock()

/// Runs `connections` keep-alive connections. Each sends requests while `next` hands out a request
/// index and the instant its latency counts from; the outcomes are summed.
func run(
    connections: Int,
    requests: [PreparedRequest],
    next: @escaping @Sendable () async throws -> (index: Int, from: ContinuousClock.Instant)?
) async throws -> Outcome {
    try await withThrowingTaskGroup(of: Outcome.self) { group in
        for _ in 0..<connections {
            group.addTask {
                var outcome = Outcome()
                try await HTTP1Connection.withConnection(host: "127.0.0.1", port: port) { connection in
                    while let (index, from) = try await next() {
                        let status = try await send(connection, requests[index])
                        outcome.latencies.append(seconds(clock.now - from))
                        outcome.statuses[status, default: 0] += 1
                    }
                }
                return outcome
            }
        }
        var all = Outcome()
        for try await part in group {
            all.latencies += part.latencies
            all.statuses.merge(part.statuses, uniquingKeysWith: +)
        }
        return all
    }
}

switch mode {
case "paced":
    guard let rate = Double(arguments[5]), let duration = Double(arguments[6]), arguments.count >= 8,
        let connections = Int(arguments[7])
    else { exit(2) }
    let total = Int(rate * duration)
    let requests = try prepare(count: total)
    let start = clock.now + .milliseconds(200)
    let cpu = cpuSeconds()
    let outcome = try await run(connections: connections, requests: requests) {
        let index = nextIndex()
        guard index < total else { return nil }
        let scheduled = start + .seconds(Double(index) / rate)
        try await Task.sleep(until: scheduled, clock: clock)
        return (index, scheduled)
    }
    report(outcome, seconds: duration, cpu: cpuSeconds() - cpu, label: "paced \(Int(rate))/s")
case "max":
    guard let duration = Double(arguments[5]), let connections = Int(arguments[6]) else { exit(2) }
    // Enough for 2,000/s; the run stops early if the broker is faster.
    let requests = try prepare(count: Int(duration * 2000)).map(encode)
    let cpu = cpuSeconds()
    let started = clock.now
    let load = try await LoopDrivenLoad.run(
        port: port,
        requests: requests,
        connections: connections,
        until: NIODeadline.now() + TimeAmount.nanoseconds(Int64(duration * 1e9))
    )
    let outcome = Outcome(latencies: load.latencies, statuses: load.statuses)
    report(
        outcome,
        seconds: seconds(clock.now - started),
        cpu: cpuSeconds() - cpu,
        label: "max, \(connections) connections"
    )
default:
    FileHandle.standardError.write(Data("mode must be paced or max\n".utf8))
    exit(2)
}
