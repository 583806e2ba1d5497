import Foundation
import RollbackProtocol
import Testing

struct HTTPSignatureVectorFile: Decodable {
    struct Case: Decodable {
        struct Expectation: Decodable {
            var caller: String?
            var error: String?
        }
        var name: String
        var method: String
        var target: String
        var bodyHex: String
        var headers: [String: String]
        var expect: Expectation
    }
    var now: Int64
    var windowSeconds: Int64
    var keyring: JSONValue
    var cases: [Case]
}

@Suite("HTTP request signatures (spec/vectors/http-signatures.json)")
struct HTTPSigningTests {
    static let file = try! SpecVectors.load("http-signatures.json", as: HTTPSignatureVectorFile.self)

    @Test("every vector verifies to its caller or its error", arguments: file.cases.map(\.name))
    func vector(_ name: String) throws {
        let file = Self.file
        let vector = try #require(file.cases.first { $0.name == name })
        let keyring = try Keyring(json: Array(try JSONEncoder().encode(file.keyring)))
        let verifier = HTTPRequestVerifier(keyring: keyring, windowSeconds: file.windowSeconds)
        do {
            let verified = try verifier.verify(
                method: vector.method,
                target: vector.target,
                keyID: vector.headers["Rollback-Key-Id"],
                timestamp: vector.headers["Rollback-Timestamp"],
                nonce: vector.headers["Rollback-Nonce"],
                signature: vector.headers["Rollback-Signature"],
                body: SpecVectors.bytes(hex: vector.bodyHex),
                now: file.now
            )
            #expect(vector.expect.caller == verified.caller, "\(name)")
        } catch {
            #expect(vector.expect.error == error.code.name, "\(name): \(error)")
        }
    }

    @Test("the signer produces the vectors' signature for the same inputs")
    func signerMatchesVectors() throws {
        let file = Self.file
        let keyring = try Keyring(json: Array(try JSONEncoder().encode(file.keyring)))
        let vector = try #require(file.cases.first)
        let headers = HTTPRequestSigner(key: keyring.activeKey).headers(
            method: vector.method,
            target: vector.target,
            body: SpecVectors.bytes(hex: vector.bodyHex),
            timestamp: file.now,
            nonce: try #require(vector.headers["Rollback-Nonce"])
        )
        #expect(
            headers.first { $0.name == "Rollback-Signature" }?.value == vector.headers["Rollback-Signature"]
        )
    }
}
