import Foundation
import RollbackProtocol

/// Decodes a JSON request body into an API type (`RequestBodyDecoder`, in the protocol module
/// so the fuzzers reach it), its refusal answered as a 400 in the API's error shape.
enum RequestBody {
    static func decode<T: APIRequestBody>(_ type: T.Type, from body: [UInt8]) throws(APIError) -> T {
        do {
            return try RequestBodyDecoder.decode(type, from: body)
        } catch {
            throw APIError(
                .badRequest,
                error.code,
                error.message,
                details: error.field.map { ["field": $0] } ?? [:]
            )
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
