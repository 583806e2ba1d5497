public import HTTPTypes
public import RollbackProtocol

/// A refusal or failure the API reports, in the one error shape
/// `{ "error": { "code", "message", "details" } }`. `code` is stable (listed in
/// `spec/openapi.yaml`); `message` is for a person and says what to do.
public struct APIError: Error, Sendable, CustomStringConvertible {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    public var details: [String: String]
    /// Extra response headers, such as `Retry-After`.
    public var headers: [(HTTPField.Name, String)] = []

    public init(
        _ status: HTTPResponse.Status,
        _ code: String,
        _ message: String,
        details: [String: String] = [:]
    ) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
    }

    public var body: APIErrorBody { APIErrorBody(code: code, message: message, details: details) }
    public var description: String { "\(status.code) \(code): \(message)" }
}

extension APIError {
    static func missingField(_ field: String) -> APIError {
        APIError(.badRequest, "missing_field", "\(field) is required", details: ["field": field])
    }

    static func invalidField(_ field: String, _ problem: String) -> APIError {
        APIError(.badRequest, "invalid_field", "\(field) \(problem)", details: ["field": field])
    }

    static func projectNotFound(_ id: String) -> APIError {
        APIError(
            .notFound,
            "project_not_found",
            "project \(id) is not registered",
            details: ["projectId": id]
        )
    }

    static func projectNotOwned(_ id: String, user: String) -> APIError {
        APIError(
            .forbidden,
            "project_not_owned",
            "project \(id) does not belong to user \(user)",
            details: ["projectId": id]
        )
    }

    static func databaseUnavailable(_ why: String) -> APIError {
        APIError(
            .serviceUnavailable,
            "database_unavailable",
            "PostgreSQL is not reachable; nothing was changed. Retry shortly.",
            details: ["cause": why]
        )
    }

    static func redisUnavailable(_ why: String) -> APIError {
        APIError(
            .serviceUnavailable,
            "redis_unavailable",
            "Redis is not reachable; nothing was changed. Retry shortly.",
            details: ["cause": why]
        )
    }
}
