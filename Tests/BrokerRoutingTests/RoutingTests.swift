import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import RollbackProtocol
import Testing

/// Routing, signatures and body validation, against the router alone (no PostgreSQL, no Redis).
/// What a refusal writes (its audit row, and nothing else) is `IntegrationTests/ValidationTests`.
@Suite("The broker's routes in-process: signatures and body validation")
struct RoutingTests {
    static let rollback = "/v1/versions/rollback"
    static let valid: [String: String] = ["userId": "u1", "projectId": "p1", "targetVersionId": "v1"]

    static func body(_ fields: [String: any Sendable]) -> [UInt8] {
        Array(try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]))
    }

    static func with(_ key: String, _ value: (any Sendable)?) -> [UInt8] {
        var fields: [String: any Sendable] = valid
        fields[key] = value
        return body(fields)
    }

    @Test(
        "a body that cannot be read is 400 with its code and field, before anything is looked up",
        arguments: [
            ("not JSON", Array("{nope".utf8), "malformed_json", nil),
            ("a JSON array", Array("[]".utf8), "malformed_json", nil),
            ("missing userId", with("userId", nil), "missing_field", "userId"),
            ("missing projectId", with("projectId", nil), "missing_field", "projectId"),
            ("missing targetVersionId", with("targetVersionId", nil), "missing_field", "targetVersionId"),
            ("userId not a string", with("userId", 42), "invalid_field", "userId"),
            (
                "skipWorkingDirectory not a bool", with("skipWorkingDirectory", "yes"), "invalid_field",
                "skipWorkingDirectory"
            ),
            ("an unknown field", with("skipWorkdir", true), "unknown_field", "skipWorkdir"),
            (
                "an optional field sent as null (found by the contract test: it was taken as absent)",
                Array(#"{"userId":"u1","projectId":"p1","targetVersionId":"v1","reason":null}"#.utf8),
                "invalid_field", "reason"
            ),
            (
                "the same key twice",
                Array(#"{"userId":"u1","userId":"u2","projectId":"p1","targetVersionId":"v1"}"#.utf8),
                "duplicate_field", "userId"
            ),
            (
                "the same key twice, once escaped",
                Array(#"{"userId":"u1","\u0075serId":"u2","projectId":"p1","targetVersionId":"v1"}"#.utf8),
                "duplicate_field", "userId"
            ),
            ("a project id with a slash", with("projectId", "../etc"), "invalid_field", "projectId"),
            ("an id starting with a dot", with("targetVersionId", ".v1"), "invalid_field", "targetVersionId"),
            (
                "a reason too long", with("reason", String(repeating: "r", count: 501)), "invalid_field",
                "reason"
            ),
        ] as [(String, [UInt8], String, String?)]
    )
    func unreadableBodies(name: String, body: [UInt8], code: String, field: String?) async throws {
        try await RoutedBroker.test { client in
            try await Self.expectBadRequest(
                client,
                Self.rollback,
                body: body,
                name: name,
                code: code,
                field: field
            )
        }
    }

    /// POSTs a signed `body` to `target` and expects 400 with `code` and `details.field`.
    static func expectBadRequest(
        _ client: any TestClientProtocol,
        _ target: String,
        body: [UInt8],
        name: String,
        code: String,
        field: String?
    ) async throws {
        try await client.execute(
            uri: target,
            method: .post,
            headers: RoutedBroker.headers("POST", target, body: body),
            body: ByteBuffer(bytes: body)
        ) { response in
            #expect(response.status == .badRequest, "\(name)")
            let error = RoutedBroker.error(response)
            #expect(error.code == code, "\(name): \(String(buffer: response.body))")
            #expect(error.field == field, "\(name)")
        }
    }

    /// A valid registration's fields, as raw JSON values, in order.
    static let registration: [(String, String)] = [
        ("versionId", #""v1""#), ("artifactUrl", #""https://a.example.com/v1.zip""#),
        ("artifactSha256", "\"\(String(repeating: "c", count: 64))\""), ("artifactSize", "5"),
        ("previewUrl", #""https://p.example.com""#),
    ]

    /// The registration with `field` set to the raw JSON `value` (nil: left out), and `extra`
    /// appended as written (a key sent twice).
    static func registration(_ field: String, _ value: String?, extra: String = "") -> [UInt8] {
        let pairs = registration.compactMap { key, raw -> String? in
            let raw = key == field ? value : raw
            return raw.map { "\"\(key)\":\($0)" }
        }
        return Array(("{" + pairs.joined(separator: ",") + extra + "}").utf8)
    }

    @Test(
        "a version registration the agent would refuse is 400 naming the field",
        arguments: [
            (
                "an integer beyond 64 bits", registration("artifactSize", "1000000000000000000000000000000"),
                "invalid_field", "artifactSize"
            ),
            ("a fraction", registration("artifactSize", "1.5"), "invalid_field", "artifactSize"),
            ("size zero", registration("artifactSize", "0"), "invalid_field", "artifactSize"),
            ("no size", registration("artifactSize", nil), "invalid_field", "artifactSize"),
            (
                "a key twice", registration("artifactSize", "5", extra: #","artifactSize":6"#),
                "duplicate_field", "artifactSize"
            ),
            (
                "an upper-case sha256",
                registration("artifactSha256", "\"\(String(repeating: "C", count: 64))\""),
                "invalid_field", "artifactSha256"
            ),
            (
                "an ftp URL", registration("artifactUrl", #""ftp://a.example.com/v1.zip""#), "invalid_field",
                "artifactUrl"
            ),
        ] as [(String, [UInt8], String, String)]
    )
    func badRegistrations(name: String, body: [UInt8], code: String, field: String) async throws {
        let target = "/v1/projects/p1/versions"
        try await RoutedBroker.test { client in
            try await Self.expectBadRequest(client, target, body: body, name: name, code: code, field: field)
        }
    }

    @Test("bad signatures are 401 each with its own code; a replay is refused the second time")
    func signatures() async throws {
        let body = Self.body(Self.valid)
        let now = UnixTime.now()
        let good = RoutedBroker.headers("POST", Self.rollback, body: body, timestamp: now)
        func replacing(_ name: String, with value: String) -> HTTPFields {
            var fields = good
            fields[HTTPField.Name(name)!] = value
            return fields
        }
        let signature = good[HTTPField.Name(HTTPSignatureHeader.signature)!]!
        let cases: [(String, HTTPFields, [UInt8], String)] = [
            ("unsigned", [:], body, "missing_signature"),
            ("body changed", good, Self.with("userId", "u2"), "bad_signature"),
            (
                "signed for another path", RoutedBroker.headers("POST", "/v1/projects", body: body), body,
                "bad_signature"
            ),
            (
                "expired", RoutedBroker.headers("POST", Self.rollback, body: body, timestamp: now - 400),
                body, "signature_expired"
            ),
            (
                "from the future",
                RoutedBroker.headers("POST", Self.rollback, body: body, timestamp: now + 400), body,
                "signature_in_future"
            ),
            ("unknown key", replacing(HTTPSignatureHeader.keyID, with: "web-9"), body, "unknown_key_id"),
            (
                "not v1=", replacing(HTTPSignatureHeader.signature, with: "sha1=abc"), body,
                "malformed_signature"
            ),
            (
                "upper-case hex",
                replacing(HTTPSignatureHeader.signature, with: "v1=" + signature.dropFirst(3).uppercased()),
                body, "malformed_signature"
            ),
        ]
        try await RoutedBroker.test { client in
            for (name, headers, body, code) in cases {
                try await client.execute(
                    uri: Self.rollback,
                    method: .post,
                    headers: headers,
                    body: ByteBuffer(bytes: body)
                ) {
                    response in
                    #expect(response.status == .unauthorized, "\(name)")
                    #expect(
                        RoutedBroker.error(response).code == code,
                        "\(name): \(String(buffer: response.body))"
                    )
                }
            }
            // The same signed bytes twice: the first is answered on its merits (here a body that
            // cannot be read), the second is a replay whatever the first came to.
            let bad = Array("{nope".utf8)
            let badHeaders = RoutedBroker.headers("POST", Self.rollback, body: bad)
            for expected in ["malformed_json", "signature_replayed"] {
                try await client.execute(
                    uri: Self.rollback,
                    method: .post,
                    headers: badHeaders,
                    body: ByteBuffer(bytes: bad)
                ) { #expect(RoutedBroker.error($0).code == expected) }
            }
        }
    }

    @Test("routes: an unknown path is 404, a body over the limit 413, a read with a bad id 400")
    func routing() async throws {
        try await RoutedBroker.test { client in
            try await client.execute(uri: "/v1/nothing-here", method: .get) {
                #expect($0.status == .notFound)
            }
            // A path the API serves, with a method it does not take: 405 naming what it takes
            // (found by the contract test: it was 404).
            try await client.execute(uri: "/v1/projects/p1/events", method: .delete) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(RoutedBroker.error(response).code == "method_not_allowed")
                #expect(response.headers[.allow] == "GET")
            }
            try await client.execute(uri: "/v1/projects", method: .put) { response in
                #expect(response.headers[.allow] == "GET, POST")
            }
            let huge = Self.with("reason", String(repeating: "x", count: 70_000))
            try await client.execute(
                uri: Self.rollback,
                method: .post,
                headers: RoutedBroker.headers("POST", Self.rollback, body: huge),
                body: ByteBuffer(bytes: huge)
            ) { response in
                #expect(response.status == .contentTooLarge)
                #expect(RoutedBroker.error(response).code == "body_too_large")
            }
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            let target = "/v1/jobs/not-a-uuid"
            try await client.execute(
                uri: target,
                method: .get,
                headers: RoutedBroker.headers("GET", target, body: [])
            ) {
                response in
                #expect(response.status == .badRequest)
                #expect(RoutedBroker.error(response).field == "jobId")
            }
        }
    }
}
