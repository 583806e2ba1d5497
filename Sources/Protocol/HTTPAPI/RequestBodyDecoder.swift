import Foundation

/// A JSON request body of the HTTP API. `fields` are the names it accepts: any other is refused,
/// so a typo such as `skipWorkdir` is an error instead of a setting silently ignored.
public protocol APIRequestBody: Decodable {
    static var fields: Set<String> { get }
    /// Fields whose value may be JSON `null` (opaque JSON, such as a build's payload); any other
    /// field sent as `null` is refused.
    static var nullableFields: Set<String> { get }
}

extension APIRequestBody {
    public static var nullableFields: Set<String> { [] }
}

/// Why a request body was refused: a stable `code` (`malformed_json`, `duplicate_field`,
/// `unknown_field`, `missing_field`, `invalid_field`), a message a person can act on, and the
/// field concerned when there is one. The broker answers it as a 400.
public struct RequestBodyProblem: Error, Sendable, Hashable {
    public let code: String
    public let message: String
    public let field: String?

    public init(code: String, message: String, field: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
    }

    static func missingField(_ field: String) -> RequestBodyProblem {
        RequestBodyProblem(code: "missing_field", message: "\(field) is required", field: field)
    }

    static func invalidField(_ field: String, _ problem: String) -> RequestBodyProblem {
        RequestBodyProblem(code: "invalid_field", message: "\(field) \(problem)", field: field)
    }
}

/// Decodes a JSON request body into an API type, with one clear problem per refusal: not a JSON
/// object, a field twice, a field the type does not know, a field missing, a field of the wrong
/// type. Pure logic over bytes (no I/O), which is what lets the fuzzers drive it.
public enum RequestBodyDecoder {
    public static func decode<T: APIRequestBody>(
        _ type: T.Type,
        from body: [UInt8]
    ) throws(RequestBodyProblem) -> T {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)),
            let dictionary = object as? [String: Any]
        else {
            throw RequestBodyProblem(
                code: "malformed_json",
                message: "the request body must be a JSON object"
            )
        }
        if let duplicate = DuplicateKeys.first(in: body) {
            throw RequestBodyProblem(
                code: "duplicate_field",
                message:
                    "\(duplicate) appears twice; send each field once (parsers disagree on which copy counts)",
                field: duplicate
            )
        }
        // JSON null is not "absent": a field is sent with a value or left out, so that a client
        // cannot believe it cleared a setting the API ignored.
        if let null = dictionary.keys.sorted().first(where: { dictionary[$0] is NSNull }),
            T.fields.contains(null),
            !T.nullableFields.contains(null)
        {
            throw .invalidField(null, "must not be null; leave the field out instead")
        }
        if let unknown = dictionary.keys.sorted().first(where: { !T.fields.contains($0) }) {
            throw RequestBodyProblem(
                code: "unknown_field",
                message:
                    "\(unknown) is not a field of this request (known: \(T.fields.sorted().joined(separator: ", ")))",
                field: unknown
            )
        }
        do {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            return try decoder.decode(type, from: Data(body))
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
                throw RequestBodyProblem(
                    code: "malformed_json",
                    message: "the request body could not be read: \(context.debugDescription)"
                )
            }
            throw .invalidField(field, "must be a whole number that fits in 64 bits")
        } catch {
            throw RequestBodyProblem(
                code: "malformed_json",
                message: "the request body could not be read: \(error)"
            )
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

// Every request body the API takes; its fields are its coding keys, so they cannot drift.
extension RollbackRequest: APIRequestBody {
    public static var fields: Set<String> { Set(CodingKeys.allCases.map(\.rawValue)) }
}
extension RollbackPreviewRequest: APIRequestBody {
    public static var fields: Set<String> { Set(CodingKeys.allCases.map(\.rawValue)) }
}
extension RollbackCancelRequest: APIRequestBody {
    public static var fields: Set<String> { Set(CodingKeys.allCases.map(\.rawValue)) }
}
extension PublishRequest: APIRequestBody {
    public static var fields: Set<String> { Set(CodingKeys.allCases.map(\.rawValue)) }
}
extension RegisterProjectRequest: APIRequestBody {
    public static var fields: Set<String> { Set(CodingKeys.allCases.map(\.rawValue)) }
}
extension RegisterVersionRequest: APIRequestBody {
    public static var fields: Set<String> { Set(CodingKeys.allCases.map(\.rawValue)) }
}
extension BuildRequest: APIRequestBody {
    public static var fields: Set<String> { Set(CodingKeys.allCases.map(\.rawValue)) }
    /// The payload is opaque JSON for the build system; `null` is one.
    public static var nullableFields: Set<String> { ["payload"] }
}
extension FreezeRequest: APIRequestBody {
    public static var fields: Set<String> { Set(CodingKeys.allCases.map(\.rawValue)) }
}
extension UnfreezeRequest: APIRequestBody {
    public static var fields: Set<String> { Set(CodingKeys.allCases.map(\.rawValue)) }
}
extension ProjectSettingsRequest: APIRequestBody {
    public static var fields: Set<String> { Set(CodingKeys.allCases.map(\.rawValue)) }
}
extension CreateWebhookRequest: APIRequestBody {
    public static var fields: Set<String> { Set(CodingKeys.allCases.map(\.rawValue)) }
}
