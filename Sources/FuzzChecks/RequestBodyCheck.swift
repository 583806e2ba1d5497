import Foundation
import RollbackProtocol

/// A JSON body of the broker's HTTP API through `RequestBodyDecoder`, as every route decodes
/// it. The first byte picks the request type. Properties:
/// - a refusal carries one of the documented codes, and names its field when it concerns one;
/// - an accepted body was a JSON object of known fields only, each once;
/// - what was accepted survives a round trip: encoded and decoded again, the same value.
enum RequestBodyCheck {
    static let codes: Set<String> = [
        "malformed_json", "duplicate_field", "unknown_field", "missing_field", "invalid_field",
    ]

    static func run(_ input: [UInt8]) -> Bool {
        guard let first = input.first else { return false }
        let body = Array(input.dropFirst())
        switch first % 11 {
        case 0: return check(RollbackRequest.self, body)
        case 1: return check(RollbackPreviewRequest.self, body)
        case 2: return check(RollbackCancelRequest.self, body)
        case 3: return check(PublishRequest.self, body)
        case 4: return check(RegisterProjectRequest.self, body)
        case 5: return check(RegisterVersionRequest.self, body)
        case 6: return check(BuildRequest.self, body)
        case 7: return check(FreezeRequest.self, body)
        case 8: return check(UnfreezeRequest.self, body)
        case 9: return check(ProjectSettingsRequest.self, body)
        default: return check(CreateWebhookRequest.self, body)
        }
    }

    private static func check<T: APIRequestBody & Codable & Equatable>(
        _ type: T.Type,
        _ body: [UInt8]
    ) -> Bool {
        let value: T
        do {
            value = try RequestBodyDecoder.decode(type, from: body)
        } catch {
            require(codes.contains(error.code), "undocumented refusal code \(error.code)")
            let namesField = ["duplicate_field", "unknown_field", "missing_field", "invalid_field"]
            require(!namesField.contains(error.code) || error.field != nil, "\(error.code) without its field")
            return false
        }
        let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
        require(object != nil, "accepted a body that is not a JSON object")
        require(object!.keys.allSatisfy(T.fields.contains), "accepted an unknown field")
        require(DuplicateKeys.first(in: body) == nil, "accepted a duplicate field")
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        guard let encoded = try? encoder.encode(value) else {
            require(false, "an accepted \(T.self) cannot be encoded")
            return false
        }
        let again = try? RequestBodyDecoder.decode(type, from: Array(encoded))
        require(again == value, "an accepted \(T.self) changed in a round trip")
        return true
    }
}
