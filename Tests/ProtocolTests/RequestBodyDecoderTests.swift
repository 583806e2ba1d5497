import RollbackProtocol
import Testing

/// The request-body rules the broker and the fuzzers share (the routing tests cover the rest).
@Suite struct RequestBodyDecoderTests {
    @Test("null is refused for a field, except where the value is opaque JSON (a build's payload)")
    func nulls() throws {
        let refusal = RequestBodyProblem(
            code: "invalid_field",
            message: "discard must not be null; leave the field out instead",
            field: "discard"
        )
        #expect(throws: refusal) {
            try RequestBodyDecoder.decode(
                UnfreezeRequest.self,
                from: Array(#"{"userId":"u1","reason":"r","discard":null}"#.utf8)
            )
        }
        let build = try RequestBodyDecoder.decode(
            BuildRequest.self,
            from: Array(#"{"projectId":"p1","buildId":"b1","payload":null}"#.utf8)
        )
        #expect(build.buildID == "b1")
    }

    @Test("each request type's fields are its coding keys")
    func fields() {
        #expect(
            RollbackRequest.fields == [
                "userId", "projectId", "targetVersionId", "skipWorkingDirectory", "reason", "only",
            ]
        )
        #expect(CreateWebhookRequest.fields == ["url", "eventTypes", "projects", "secret"])
    }
}
