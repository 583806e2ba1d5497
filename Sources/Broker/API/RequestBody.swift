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
        if let duplicate = DuplicateKeys.first(in: body) {
            throw APIError(
                .badRequest,
                "duplicate_field",
                "\(duplicate) appears twice; send each field once (parsers disagree on which copy counts)",
                details: ["field": duplicate]
            )
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
        } catch let DecodingError.dataCorrupted(context) {
            // The body is valid JSON (checked above), so a value did not fit its field. Foundation
            // names neither the field nor the reason; every number field of the API is a 64-bit
            // integer, so the culprit is the first top-level number that is not one.
            let field =
                context.codingPath.isEmpty
                ? dictionary.keys.sorted().first { !isInteger64(dictionary[$0]!) } : path(context.codingPath)
            guard let field else {
                throw APIError(
                    .badRequest,
                    "malformed_json",
                    "the request body could not be read: \(context.debugDescription)"
                )
            }
            throw .invalidField(field, "must be a whole number that fits in 64 bits")
        } catch {
            throw APIError(.badRequest, "malformed_json", "the request body could not be read: \(error)")
        }
    }

    /// True for anything but a number that is not a whole 64-bit integer.
    private static func isInteger64(_ value: Any) -> Bool {
        guard let number = value as? NSNumber, !(value is String) else { return true }
        let double = number.doubleValue
        return double.rounded() == double && abs(double) < 9.2e18
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

/// The wire rules of `RollbackProtocol.WireRules`, applied where a value enters the API, as
/// `invalid_field` errors naming the field.
enum FieldRules {
    static func id(_ value: String, field: String) throws(APIError) {
        try check(field, WireRules.id(value), value)
    }

    static func projectID(_ value: String, field: String = "projectId") throws(APIError) {
        try check(field, WireRules.projectID(value), value)
    }

    static func text(_ value: String?, field: String, max: Int) throws(APIError) {
        if let value, value.count > max { throw .invalidField(field, "must be at most \(max) characters") }
    }

    /// A browser URL (a preview): http or https.
    static func url(_ value: String?, field: String) throws(APIError) {
        guard let value else { return }
        guard let url = URL(string: value), ["http", "https"].contains(url.scheme ?? ""), url.host != nil,
            value.utf8.count <= 2048
        else { throw .invalidField(field, "must be an http(s) URL of at most 2048 bytes") }
    }

    static func artifactURL(_ value: String?, field: String) throws(APIError) {
        guard let value else { return }
        try check(field, WireRules.artifactURL(value), nil)
    }

    static func sha256(_ value: String?, field: String) throws(APIError) {
        guard let value else { return }
        try check(field, WireRules.sha256(value), nil)
    }

    static func size(_ value: Int64?, field: String) throws(APIError) {
        guard let value else { return }
        try check(field, WireRules.size(value), nil)
    }

    private static func check(_ field: String, _ rule: String?, _ value: String?) throws(APIError) {
        guard let rule else { return }
        throw .invalidField(field, value.map { "\(rule), got \"\($0.prefix(140))\"" } ?? rule)
    }
}
