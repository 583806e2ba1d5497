import Foundation
import RollbackProtocol

/// Decodes a JSON request body into an API type, with one clear error per problem: not JSON,
/// a field missing, a field of the wrong type, a field the endpoint does not know (a typo such
/// as `skipWorkdir` is refused rather than silently ignored).
enum RequestBody {
    static func decode<T: Decodable>(
        _ type: T.Type,
        from body: [UInt8],
        fields: Set<String>
    ) throws(APIError) -> T {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)),
            let dictionary = object as? [String: Any]
        else {
            throw APIError(.badRequest, "malformed_json", "the request body must be a JSON object")
        }
        if let unknown = dictionary.keys.sorted().first(where: { !fields.contains($0) }) {
            throw APIError(
                .badRequest,
                "unknown_field",
                "\(unknown) is not a field of this request (known: \(fields.sorted().joined(separator: ", ")))",
                details: ["field": unknown]
            )
        }
        do {
            return try BrokerJSON.decode(type, from: body)
        } catch let DecodingError.keyNotFound(key, context) {
            throw .missingField(path(context.codingPath + [key]))
        } catch let DecodingError.valueNotFound(_, context) {
            throw .missingField(path(context.codingPath))
        } catch let DecodingError.typeMismatch(expected, context) {
            throw .invalidField(path(context.codingPath), "must be \(describe(expected))")
        } catch {
            throw APIError(.badRequest, "malformed_json", "the request body could not be read: \(error)")
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map(\.stringValue).joined(separator: ".")
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is Int64.Type, is Int.Type: "an integer"
        default: "of type \(type)"
        }
    }
}

/// Field rules shared by the endpoints.
enum FieldRules {
    static func id(_ value: String, field: String) throws(APIError) {
        guard Identifiers.isValidID(value) else {
            throw .invalidField(
                field,
                "must be 1–128 characters from A–Z a–z 0–9 . _ ~ -, got \"\(value.prefix(140))\""
            )
        }
    }

    static func projectID(_ value: String, field: String = "projectId") throws(APIError) {
        guard Identifiers.isValidProjectID(value) else {
            throw .invalidField(
                field,
                "must start with a letter or digit and hold at most 128 of A–Z a–z 0–9 _ -, got \"\(value.prefix(140))\""
            )
        }
    }

    static func text(_ value: String?, field: String, max: Int) throws(APIError) {
        if let value, value.count > max { throw .invalidField(field, "must be at most \(max) characters") }
    }

    static func url(_ value: String?, field: String) throws(APIError) {
        guard let value else { return }
        guard let url = URL(string: value), ["http", "https"].contains(url.scheme ?? ""), url.host != nil,
            value.utf8.count <= 2048
        else { throw .invalidField(field, "must be an http(s) URL of at most 2048 bytes") }
    }

    static func sha256(_ value: String?, field: String) throws(APIError) {
        guard let value else { return }
        guard value.utf8.count == 64, Hex.decode(value) != nil, value == value.lowercased() else {
            throw .invalidField(field, "must be 64 lower-case hex digits")
        }
    }
}
