import Foundation
import RollbackProtocol
import Testing

struct WebhookSignatureVectorFile: Decodable {
    struct Case: Decodable {
        var name: String
        var bodyHex: String
        var header: String
        var valid: Bool
    }
    var now: Int64
    var toleranceSeconds: Int64
    var secret: String
    var cases: [Case]
}

@Suite("Webhook signatures (spec/vectors/webhook-signatures.json)")
struct WebhookSignatureTests {
    static let file = try! SpecVectors.load("webhook-signatures.json", as: WebhookSignatureVectorFile.self)

    @Test("every vector verifies as it says", arguments: file.cases.map(\.name))
    func vector(_ name: String) throws {
        let file = Self.file
        let vector = try #require(file.cases.first { $0.name == name })
        let verified = WebhookSignature.verify(
            header: vector.header,
            body: SpecVectors.bytes(hex: vector.bodyHex),
            secret: file.secret,
            now: file.now,
            toleranceSeconds: file.toleranceSeconds
        )
        #expect(verified == vector.valid, "\(name)")
    }

    @Test("the sender's header is the vectors' for the same inputs")
    func signerMatchesVectors() throws {
        let file = Self.file
        let vector = try #require(file.cases.first { $0.name == "valid" })
        #expect(
            WebhookSignature.sign(
                body: SpecVectors.bytes(hex: vector.bodyHex),
                secret: file.secret,
                timestamp: file.now
            )
                == vector.header
        )
    }
}
