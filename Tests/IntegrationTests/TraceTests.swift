import Foundation
import RollbackClient
import RollbackProtocol
import TestSupport
import Testing

/// One trace from the web tier's request to the agent's phases, across two processes that
/// export their spans over OTLP/HTTP (JSON) to a collector: `rollback-broker run` (API and
/// dispatcher) and `rollback-agent`.
@Suite("Tracing: one trace from the HTTP request to the agent's phase spans")
struct TraceTests {
    struct Span {
        var service: String
        var name: String
        var traceID: String
        var spanID: String
        var parentSpanID: String
        var kind: Int
    }

    @Test(
        "request → rollback.dispatch → rollback.agent.sync → each phase, one trace id, each the parent of the next"
    )
    func oneTrace() async throws {
        let host = try await AgentHost()
        defer { host.shutdown() }
        let spansFile = "\(host.directory)/spans.jsonl"
        let collector = try await FixtureServer.start(
            "otlp",
            [spansFile],
            portFile: "\(host.directory)/otlp-port",
            log: "\(host.directory)/otlp.log"
        )
        defer { collector.stop() }
        let tracing = ["--set", "tracesEndpoint=\(collector.baseURL)", "--set", "tracesProtocol=http/json"]
        let environment = ["OTEL_BSP_SCHEDULE_DELAY": "100"]
        try await host.start(extraArguments: tracing, environment: environment)
        let scene = try DispatchTests.Scene(host: host)
        let broker = try await BrokerProcess.start(
            host: host,
            extraArguments: tracing,
            environment: environment
        )
        defer { broker.kill() }

        let client = try BrokerClient(url: broker.url, key: BrokerHarness.keyring.activeKey)
        let project = "trace-\(scene.suffix)"
        _ = try await client.registerProject(
            RegisterProjectRequest(projectID: project, userID: "u-trace", host: host.name)
        )
        for (id, artifact) in [(scene.v1ID, scene.v1), (scene.v2ID, scene.v2)] {
            _ = try await client.registerVersion(
                projectID: project,
                RegisterVersionRequest(
                    versionID: id,
                    artifactURL: artifact.url,
                    artifactSHA256: artifact.sha256,
                    artifactSize: artifact.size,
                    previewURL: "https://\(id).example.com"
                )
            )
        }
        try host.makeWorkingDirectory(project, files: DispatchTests.oldFiles)

        // The web tier's request, with its own trace context.
        let traceID = Self.randomHex(16)
        let webSpanID = Self.randomHex(8)
        let body = BrokerHarness.encode(
            RollbackRequest(userID: "u-trace", projectID: project, targetVersionID: scene.v1ID)
        )
        let target = "/v1/versions/rollback"
        let headers =
            HTTPRequestSigner(key: BrokerHarness.keyring.activeKey).headers(
                method: "POST",
                target: target,
                body: body
            ) + [("traceparent", "00-\(traceID)-\(webSpanID)-01")]
        let answer = try await HTTP1Connection.withConnection(host: "127.0.0.1", port: broker.port) {
            try await $0.send(method: "POST", target: target, headers: headers, body: body)
        }
        #expect(answer.status == 200, "\(String(decoding: answer.body, as: UTF8.self))")
        try await waitUntil(timeout: .seconds(60), "the rollback to complete") {
            try await client.project(project).status == .deployed
        }
        // A graceful stop flushes each process's spans.
        try await broker.stop()
        try await host.stop()
        // Lines logged inside a traced operation carry its trace id.
        #expect(host.readLog().contains("trace_id=\(traceID)"), "\(host.readLog().suffix(3000))")
        #expect(broker.log.contains("trace_id=\(traceID)"), "\(broker.log.suffix(3000))")

        let spans = try Self.readSpans(spansFile).filter { $0.traceID == traceID }
        func one(_ name: String, service: String) throws -> Span {
            let found = spans.filter { $0.name == name && $0.service == service }
            try #require(found.count == 1, "\(name) in \(service): \(found.count) of \(spans.map(\.name))")
            return found[0]
        }
        let request = try #require(
            spans.first { $0.service == "rollback-broker" && $0.parentSpanID == webSpanID && $0.kind == 2 },
            "no server span of the broker under the web tier's: \(spans.map { "\($0.service) \($0.name)" })"
        )
        let dispatch = try one("rollback.dispatch", service: "rollback-broker")
        let sync = try one("rollback.agent.sync", service: "rollback-agent")
        #expect(dispatch.parentSpanID == request.spanID, "dispatch under the request")
        #expect(sync.parentSpanID == dispatch.spanID, "the agent's sync under the dispatcher's own span")
        for phase in ["downloading", "verifying", "extracting", "swapping", "committing"] {
            let span = try one("rollback.agent.\(phase)", service: "rollback-agent")
            #expect(span.parentSpanID == sync.spanID, "\(phase) under the sync")
        }
    }

    static func randomHex(_ bytes: Int) -> String {
        (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 1...255)) }.joined()
    }

    /// Every span the collector received (`<path> <json>` per line).
    static func readSpans(_ path: String) throws -> [Span] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        var spans: [Span] = []
        for line in text.split(separator: "\n") {
            guard let space = line.firstIndex(of: " "),
                let export = try JSONSerialization.jsonObject(
                    with: Data(line[line.index(after: space)...].utf8)
                )
                    as? [String: Any]
            else { continue }
            for resourceSpans in export["resourceSpans"] as? [[String: Any]] ?? [] {
                let attributes =
                    (resourceSpans["resource"] as? [String: Any])?["attributes"] as? [[String: Any]] ?? []
                let service =
                    attributes.first { $0["key"] as? String == "service.name" }
                    .flatMap { ($0["value"] as? [String: Any])?["stringValue"] as? String } ?? "?"
                for scope in resourceSpans["scopeSpans"] as? [[String: Any]] ?? [] {
                    for span in scope["spans"] as? [[String: Any]] ?? [] {
                        spans.append(
                            Span(
                                service: service,
                                name: span["name"] as? String ?? "",
                                traceID: Self.hex(span["traceId"]),
                                spanID: Self.hex(span["spanId"]),
                                parentSpanID: Self.hex(span["parentSpanId"]),
                                kind: Self.kind(span["kind"])
                            )
                        )
                    }
                }
            }
        }
        return spans
    }

    /// OTLP/JSON writes ids as hex; a protobuf JSON encoder may write base64. Either becomes hex.
    static func hex(_ value: Any?) -> String {
        guard let text = value as? String, !text.isEmpty else { return "" }
        if text.count % 2 == 0, text.allSatisfy(\.isHexDigit) { return text.lowercased() }
        guard let data = Data(base64Encoded: text) else { return text }
        return data.map { String(format: "%02x", $0) }.joined()
    }

    /// `kind` as a number or as `SPAN_KIND_SERVER` and the like.
    static func kind(_ value: Any?) -> Int {
        if let number = value as? Int { return number }
        let names = [
            "SPAN_KIND_INTERNAL": 1, "SPAN_KIND_SERVER": 2, "SPAN_KIND_CLIENT": 3, "SPAN_KIND_PRODUCER": 4,
            "SPAN_KIND_CONSUMER": 5,
        ]
        return names[value as? String ?? ""] ?? 0
    }
}
