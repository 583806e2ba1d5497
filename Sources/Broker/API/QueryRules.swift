import Foundation
import Hummingbird

/// Query parameters read with one error per problem (400 `invalid_field` naming the parameter).
struct QueryRules {
    let request: Request

    func string(_ name: String) -> String? { request.uri.queryParameters.get(name) }

    func bool(_ name: String) throws -> Bool? {
        guard let value = string(name) else { return nil }
        guard let flag = ["true": true, "false": false][value] else {
            throw APIError.invalidField(name, "must be true or false")
        }
        return flag
    }

    /// A page size: `default` when absent, else 1…`max`.
    func limit(default fallback: Int, max: Int) throws -> Int {
        guard let value = string("limit") else { return fallback }
        guard let number = Int(value), (1...max).contains(number) else {
            throw APIError.invalidField("limit", "must be an integer from 1 to \(max)")
        }
        return number
    }

    /// An opaque cursor from a previous page's `nextCursor`.
    func cursor() throws -> Int64? {
        guard let value = string("cursor") else { return nil }
        guard let number = Int64(value), number > 0 else {
            throw APIError.invalidField("cursor", "must be the nextCursor of a previous page")
        }
        return number
    }

    /// An RFC 3339 time (`2026-11-30T01:00:00Z`).
    func date(_ name: String) throws -> Date? {
        guard let value = string(name) else { return nil }
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: value) { return date }
        formatter.formatOptions.insert(.withFractionalSeconds)
        guard let date = formatter.date(from: value) else {
            throw APIError.invalidField(name, "must be an RFC 3339 time such as 2026-11-30T01:00:00Z")
        }
        return date
    }
}
