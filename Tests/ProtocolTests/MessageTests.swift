import Foundation
import RollbackProtocol
import Testing

@Suite("JSON-RPC messages")
struct MessageTests {
    @Test("a request round-trips with its params and trace context")
    func requestRoundTrip() throws {
        let params = WorkdirSync.Params(
            jobID: "job-1",
            projectID: "proj_1",
            rollbackVersionID: "v9",
            targetVersionID: "v3",
            artifact: .init(
                url: "https://example.test/a.zip",
                sha256: String(repeating: "ab", count: 32),
                sizeBytes: 10
            ),
            epoch: 4
        )
        let trace = TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        let body = try OutgoingMessage.request(id: 3, method: WorkdirSync.name, params: params, trace: trace)
        let message = try IncomingMessage(body: body)
        #expect(message.kind == .request(id: 3, method: "workdir.sync"))
        #expect(message.trace == trace)
        #expect(message.trace?.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(try message.decodeParams(WorkdirSync.Params.self) == params)
        try params.validate()
    }

    @Test("responses and error responses are told apart; errors keep name, retryable flag and details")
    func responses() throws {
        let ok = try IncomingMessage(
            body: OutgoingMessage.response(
                id: "a",
                result: JobCancel.Result(jobID: "j", willStop: true, state: .running)
            )
        )
        #expect(ok.kind == .response(id: "a"))
        #expect(try ok.decodeResult(JobCancel.Result.self).willStop)

        let error = RPCError(.busy, "project proj-1 is syncing job-9", details: ["runningJob": "job-9"])
        let failed = try IncomingMessage(body: OutgoingMessage.errorResponse(id: 5, error: error))
        #expect(failed.kind == .errorResponse(id: 5, error: error))
        #expect(throws: error) { try failed.decodeResult(JobCancel.Result.self) }
        #expect(error.isRetryable)

        let anonymous = try IncomingMessage(
            body: OutgoingMessage.errorResponse(id: nil, error: RPCError(.parseError, "bad"))
        )
        #expect(anonymous.kind == .errorResponse(id: nil, error: RPCError(.parseError, "bad")))
        #expect(
            String(
                decoding: OutgoingMessage.errorResponse(id: nil, error: RPCError(.parseError, "bad")),
                as: UTF8.self
            ).contains("\"id\":null")
        )
    }

    @Test("every application error has a distinct code and name, and a retryable flag")
    func errorCodes() {
        let codes = RPCErrorCode.all
        #expect(Set(codes.map(\.rawValue)).count == codes.count)
        #expect(Set(codes.map(\.name)).count == codes.count)
        let names = Set(codes.map(\.name))
        for required in [
            "unauthenticated", "expired", "replayed", "stale_epoch", "busy", "not_found", "invalid_params",
            "cancelled", "deadline_exceeded", "internal",
        ] {
            #expect(names.contains(required), "\(required)")
        }
        #expect(!RPCErrorCode.staleEpoch.isRetryable)
        #expect(RPCErrorCode.deadlineExceeded.isRetryable)
        #expect(
            RPCErrorCode.from(rawValue: -32050, name: "future_thing", retryable: true).name == "future_thing"
        )
    }

    @Test("params are validated field by field, with no path crossing the wire")
    func syncValidation() {
        var params = WorkdirSync.Params(
            jobID: "job-1",
            projectID: "../etc",
            rollbackVersionID: "v9",
            targetVersionID: "v3",
            artifact: .init(url: "file:///a.zip", sha256: String(repeating: "0", count: 64), sizeBytes: 1),
            epoch: 1
        )
        #expect(
            throws: RPCError(
                .invalidParams,
                "projectID \(WireRules.projectIDRule)",
                details: ["field": "projectID"]
            )
        ) {
            try params.validate()
        }
        params.projectID = "ok-project"
        params.artifact.url = "ftp://x/a.zip"
        #expect((try? params.validate()) == nil)
        params.artifact.url = "http://127.0.0.1:8080/a.zip"
        #expect((try? params.validate()) != nil)
    }

    @Test("an invalid traceparent is ignored, as W3C asks")
    func invalidTraceIgnored() throws {
        let body = Array(
            #"{"jsonrpc":"2.0","id":1,"method":"agent.health","params":{},"trace":{"traceparent":"00-00000000000000000000000000000000-00f067aa0ba902b7-01"}}"#
                .utf8
        )
        let message = try IncomingMessage(body: body)
        #expect(message.trace == nil)
        #expect(TraceContext(traceparent: "garbage") == nil)
        #expect(TraceContext.random().traceparent.count == 55)
    }
}
