import Foundation

/// Reads the JSON test vectors in `spec/vectors/`, so that the spec and the code cannot drift.
enum SpecVectors {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // ProtocolTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // package root
        .appendingPathComponent("spec/vectors")

    static func load<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
        try JSONDecoder().decode(type, from: Data(contentsOf: directory.appendingPathComponent(name)))
    }

    static func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            out.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return out
    }
}

struct FrameVectorFile: Decodable {
    struct Case: Decodable {
        struct ExpectedFrame: Decodable {
            var authHex: String
            var bodyHex: String
        }
        struct Expectation: Decodable {
            var frames: [ExpectedFrame]?
            var error: String?
            var stage: String?
            var framesBefore: Int?
        }
        var name: String
        var maxBodyLength: Int
        var hex: String
        var expect: Expectation
    }
    var cases: [Case]
}

struct SignatureVectorFile: Decodable {
    enum VectorID: Decodable {
        case number(Int64)
        case string(String)
        case none

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self = .none
            } else if let number = try? container.decode(Int64.self) {
                self = .number(number)
            } else {
                self = .string(try container.decode(String.self))
            }
        }
    }

    struct Case: Decodable {
        var name: String
        var method: String
        var id: VectorID
        var bodyHex: String
        var authHex: String
        var signingInputHex: String
        var signedBy: [String: String]
        var expectedMAC: String
        var expected: String
    }

    var agentID: String
    var now: Int64
    var windowSeconds: Int64
    var cases: [Case]
}
