import Foundation
import RollbackBroker
import RollbackClient
import RollbackProtocol
import Testing

@Suite("Refusals: every bad field, every bad signature")
struct ValidationTests {
    @Test("each validation error has its own status, code and field, and changes nothing")
    func validationErrors() async throws {
        try await BrokerHarness.with { broker in
            let project = try await broker.makeProject()
            let other = try await broker.makeProject()
            let bare = try await broker.post(
                "/v1/projects",
                json: RegisterProjectRequest(
                    projectID: "bare-\(project.id)",
                    userID: project.user,
                    host: "h1"
                )
            )
            try broker.expectStatus(bare, 201)
            let noArtifact = try await broker.post(
                "/v1/projects/\(project.id)/versions",
                json: RegisterVersionRequest(
                    versionID: "na-\(project.id)",
                    artifactURL: nil,
                    artifactSHA256: nil,
                    artifactSize: nil,
                    previewURL: "https://na.example.com",
                    makeCurrent: false
                )
            )
            try broker.expectStatus(noArtifact, 201)
            let noPreview = try await broker.post(
                "/v1/projects/\(project.id)/versions",
                json: RegisterVersionRequest(
                    versionID: "np-\(project.id)",
                    artifactURL: "https://a.example.com/x.zip",
                    artifactSHA256: String(repeating: "a", count: 64),
                    artifactSize: 1,
                    previewURL: nil,
                    makeCurrent: false
                )
            )
            try broker.expectStatus(noPreview, 201)

            func body(_ fields: [String: Any]) -> [UInt8] {
                Array(try! JSONSerialization.data(withJSONObject: fields))
            }
            let valid: [String: Any] = [
                "userId": project.user, "projectId": project.id, "targetVersionId": project.v1,
            ]
            func with(_ key: String, _ value: Any?) -> [UInt8] {
                var fields = valid
                fields[key] = value
                return body(fields)
            }
            let cases:
                [(name: String, body: [UInt8], key: String?, status: Int, code: String, field: String?)] = [
                    // Bodies that cannot be read are refused before any lookup: their codes and
                    // fields are checked in-process by BrokerRoutingTests; two stand here for
                    // what such a refusal writes (an audit row without a project, nothing else).
                    ("not JSON", Array("{nope".utf8), nil, 400, "malformed_json", nil),
                    (
                        "the same key twice",
                        Array(
                            #"{"userId":"\#(project.user)","userId":"someone-else","projectId":"\#(project.id)","targetVersionId":"\#(project.v1)"}"#
                                .utf8
                        ), nil, 400, "duplicate_field", "userId"
                    ),
                    (
                        "projectId with a slash", with("projectId", "../etc"), nil, 400, "invalid_field",
                        "projectId"
                    ),
                    ("empty userId", with("userId", ""), nil, 400, "invalid_field", "userId"),
                    (
                        "version id with spaces", with("targetVersionId", "v 1"), nil, 400, "invalid_field",
                        "targetVersionId"
                    ),
                    (
                        "reason too long", with("reason", String(repeating: "r", count: 501)), nil, 400,
                        "invalid_field", "reason"
                    ),
                    (
                        "bad Idempotency-Key", body(valid), "has space", 400, "invalid_idempotency_key",
                        "Idempotency-Key"
                    ),
                    (
                        "unknown project", with("projectId", "nope-\(project.id)"), nil, 404,
                        "project_not_found", nil
                    ),
                    (
                        "someone else's project", with("projectId", other.id), nil, 403, "project_not_owned",
                        nil
                    ),
                    ("unknown version", with("targetVersionId", "nope"), nil, 404, "version_not_found", nil),
                    (
                        "version of another project", with("targetVersionId", other.v1), nil, 422,
                        "version_not_in_project", nil
                    ),
                    (
                        "version without artifact", with("targetVersionId", "na-\(project.id)"), nil, 422,
                        "version_missing_artifact",
                        nil
                    ),
                    (
                        "version without preview URL", with("targetVersionId", "np-\(project.id)"), nil, 422,
                        "version_missing_preview_url", nil
                    ),
                    (
                        "project never built", with("projectId", "bare-\(project.id)"), nil, 409,
                        "build_in_progress", nil
                    ),
                ]
            let before = [
                try await broker.snapshot(project: project.id), try await broker.snapshot(project: other.id),
            ]
            for testCase in cases {
                let response = try await broker.send(
                    "POST",
                    "/v1/versions/rollback",
                    body: testCase.body,
                    idempotencyKey: testCase.key
                )
                #expect(response.status == testCase.status, "\(testCase.name)")
                let error = try? JSONDecoder().decode(APIErrorBody.self, from: Data(response.body))
                #expect(
                    error?.error.code == testCase.code,
                    "\(testCase.name): \(String(decoding: response.body, as: UTF8.self))"
                )
                #expect(error?.error.message.isEmpty == false, "\(testCase.name)")
                if let field = testCase.field {
                    #expect(error?.error.details["field"] == field, "\(testCase.name)")
                }
            }
            let oversized = try await broker.send(
                "POST",
                "/v1/versions/rollback",
                body: with("reason", String(repeating: "x", count: 70_000))
            )
            #expect(oversized.status == 413)
            #expect(BrokerHarness.errorCode(oversized) == "body_too_large")

            // None of it wrote anything but audit rows: every other row of both projects is as it was.
            #expect(
                [
                    try await broker.snapshot(project: project.id),
                    try await broker.snapshot(project: other.id),
                ] == before
            )
            // Each refusal that named the project is in the audit log.
            #expect(
                try await broker.count(
                    "SELECT count(*) FROM audit_log WHERE project_id = '\(project.id)' AND outcome = 'refused'"
                ) == 8
            )
        }
    }

    @Test("bad, unknown-key, expired, future, unsigned and replayed signatures: 401 with an audit row each")
    func signatures() async throws {
        try await BrokerHarness.with { broker in
            let project = try await broker.makeProject()
            let body = BrokerHarness.encode(
                RollbackRequest(
                    userID: project.user,
                    projectID: project.id,
                    targetVersionID: project.v1,
                    skipWorkingDirectory: true
                )
            )
            let now = UnixTime.now()
            let good = broker.signer.headers(
                method: "POST",
                target: "/v1/versions/rollback",
                body: body,
                timestamp: now
            )
            let wrongKey = HTTPRequestSigner(
                key: try SigningKey(id: "web-1", secret: Array(repeating: 7, count: 32))
            )
            let unknownKey = HTTPRequestSigner(key: try SigningKey(id: "web-9", secret: BrokerHarness.secret))
            var tamperedBody = body
            tamperedBody[tamperedBody.count - 2] ^= 0x01

            let cases:
                [(name: String, headers: [(name: String, value: String)], body: [UInt8], code: String)] = [
                    ("unsigned", [], body, "missing_signature"),
                    (
                        "wrong secret",
                        wrongKey.headers(
                            method: "POST",
                            target: "/v1/versions/rollback",
                            body: body,
                            timestamp: now
                        ), body,
                        "bad_signature"
                    ),
                    ("body changed", good, tamperedBody, "bad_signature"),
                    (
                        "signed for another path",
                        broker.signer.headers(
                            method: "POST",
                            target: "/v1/projects",
                            body: body,
                            timestamp: now
                        ), body,
                        "bad_signature"
                    ),
                    (
                        "unknown key id",
                        unknownKey.headers(
                            method: "POST",
                            target: "/v1/versions/rollback",
                            body: body,
                            timestamp: now
                        ), body,
                        "unknown_key_id"
                    ),
                    (
                        "expired",
                        broker.signer.headers(
                            method: "POST",
                            target: "/v1/versions/rollback",
                            body: body,
                            timestamp: now - 400
                        ),
                        body, "signature_expired"
                    ),
                    (
                        "from the future",
                        broker.signer.headers(
                            method: "POST",
                            target: "/v1/versions/rollback",
                            body: body,
                            timestamp: now + 400
                        ),
                        body, "signature_in_future"
                    ),
                    (
                        "upper-case hex (the spec says lower-case)",
                        good.map {
                            $0.name == "Rollback-Signature"
                                ? ($0.name, "v1=" + $0.value.dropFirst(3).uppercased()) : $0
                        },
                        body, "malformed_signature"
                    ),
                    (
                        "malformed",
                        [
                            ("Rollback-Key-Id", "web-1"), ("Rollback-Timestamp", "\(now)"),
                            ("Rollback-Nonce", "0123456789abcdef"), ("Rollback-Signature", "sha1=abc"),
                        ],
                        body, "malformed_signature"
                    ),
                ]
            for testCase in cases {
                let response = try await broker.send(
                    "POST",
                    "/v1/versions/rollback",
                    body: testCase.body,
                    signed: false,
                    extraHeaders: testCase.headers
                )
                #expect(response.status == 401, "\(testCase.name)")
                #expect(BrokerHarness.errorCode(response) == testCase.code, "\(testCase.name)")
                let requestID = try #require(response.header("X-Request-Id"))
                #expect(
                    try await broker.count(
                        "SELECT count(*) FROM audit_log WHERE request_id = '\(requestID)' AND status_code = 401 AND reason = '\(testCase.code)'"
                    ) == 1,
                    "\(testCase.name)"
                )
            }

            // The first use of a signature is accepted; sending the same bytes again is a replay.
            let first = try await broker.send(
                "POST",
                "/v1/versions/rollback",
                body: body,
                signed: false,
                extraHeaders: good
            )
            try broker.expectStatus(first, 200)
            let replay = try await broker.send(
                "POST",
                "/v1/versions/rollback",
                body: body,
                signed: false,
                extraHeaders: good
            )
            #expect(replay.status == 401)
            #expect(BrokerHarness.errorCode(replay) == "signature_replayed")
            #expect(
                try await broker.count(
                    "SELECT count(*) FROM project_versions WHERE project_id = '\(project.id)' AND kind = 'rollback'"
                )
                    == 1
            )
            let replayID = try #require(replay.header("X-Request-Id"))
            #expect(
                try await broker.count(
                    "SELECT count(*) FROM audit_log WHERE request_id = '\(replayID)' AND status_code = 401"
                ) == 1
            )
        }
    }

    @Test("a version id registered again: the same data is 200, any field changed is 409 and keeps the row")
    func reregistration() async throws {
        // What the agent would refuse is refused at registration too: BrokerRoutingTests.
        try await BrokerHarness.with { broker in
            let project = try await broker.makeProject()
            let target = "/v1/projects/\(project.id)/versions"
            // v1 as makeProject registered it: the same data again is 200; any field changed is 409.
            let original = RegisterVersionRequest(
                versionID: project.v1,
                artifactURL: "https://artifacts.example.com/\(project.id)/\(project.v1).zip",
                artifactSHA256: String(repeating: "1", count: 64),
                artifactSize: 1000,
                previewURL: "https://\(project.v1).preview.example.com",
                deploymentID: "dep-\(project.v1)",
                makeCurrent: false
            )
            try broker.expectStatus(try await broker.post(target, json: original), 200)
            let before = try await broker.snapshot(project: project.id)
            var otherDeployment = original
            otherDeployment.deploymentID = "dep-other"
            var otherSize = original
            otherSize.artifactSize = 1001
            for (name, changed) in [("deploymentId", otherDeployment), ("artifactSize", otherSize)] {
                let response = try await broker.post(target, json: changed)
                #expect(response.status == 409, "\(name)")
                #expect(BrokerHarness.errorCode(response) == "version_exists", "\(name)")
            }
            #expect(try await broker.snapshot(project: project.id) == before)
        }
    }
}
