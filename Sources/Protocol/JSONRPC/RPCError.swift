/// An error carried in a JSON-RPC error response: a code, a message a person can act on, and
/// string details that give the context (the offending field, the running job, ...).
public struct RPCError: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: RPCErrorCode
    public var message: String
    public var details: [String: String]

    public init(_ code: RPCErrorCode, _ message: String, details: [String: String] = [:]) {
        self.code = code
        self.message = message
        self.details = details
    }

    public var isRetryable: Bool { code.isRetryable }

    public var description: String {
        details.isEmpty
            ? "\(code.name): \(message)"
            : "\(code.name): \(message) \(details.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))"
    }
}

/// The `error` member of a JSON-RPC response, as it travels.
struct RPCErrorObject: Codable, Sendable {
    struct ErrorData: Codable, Sendable {
        var name: String
        var retryable: Bool
        var details: [String: String]?
    }

    var code: Int
    var message: String
    var data: ErrorData?

    init(_ error: RPCError) {
        code = error.code.rawValue
        message = error.message
        data = ErrorData(
            name: error.code.name,
            retryable: error.code.isRetryable,
            details: error.details.isEmpty ? nil : error.details
        )
    }

    var rpcError: RPCError {
        RPCError(
            .from(rawValue: code, name: data?.name, retryable: data?.retryable),
            message,
            details: data?.details ?? [:]
        )
    }
}
