/// Builds the JSON-RPC 2.0 bodies this protocol sends. Each function returns the exact bytes
/// that go into a frame's body (and, for client messages, into the signing input).
public enum OutgoingMessage {
    /// `{"jsonrpc":"2.0","id":…,"method":…,"params":…,"trace":…}`
    public static func request(
        id: RequestID,
        method: String,
        params: some Encodable,
        trace: TraceContext? = nil
    ) throws -> [UInt8] {
        try JSONCoding.encode(RequestBody(id: id, method: method, params: params, trace: trace))
    }

    /// `{"jsonrpc":"2.0","method":…,"params":…}`
    public static func notification(method: String, params: some Encodable) throws -> [UInt8] {
        try JSONCoding.encode(NotificationBody(method: method, params: params))
    }

    /// `{"jsonrpc":"2.0","id":…,"result":…}`
    public static func response(id: RequestID, result: some Encodable) throws -> [UInt8] {
        try JSONCoding.encode(ResultBody(id: id, result: result))
    }

    /// `{"jsonrpc":"2.0","id":…|null,"error":{"code","message","data":{"name","retryable","details"}}}`
    public static func errorResponse(id: RequestID?, error: RPCError) -> [UInt8] {
        // Encoding plain strings and integers cannot fail.
        try! JSONCoding.encode(ErrorBody(id: id, error: RPCErrorObject(error)))
    }
}

private struct RequestBody<Params: Encodable>: Encodable {
    let jsonrpc = "2.0"
    let id: RequestID
    let method: String
    let params: Params
    let trace: TraceContext?

    enum CodingKeys: String, CodingKey { case jsonrpc, id, method, params, trace }
}

private struct NotificationBody<Params: Encodable>: Encodable {
    let jsonrpc = "2.0"
    let method: String
    let params: Params

    enum CodingKeys: String, CodingKey { case jsonrpc, method, params }
}

private struct ResultBody<Result: Encodable>: Encodable {
    let jsonrpc = "2.0"
    let id: RequestID
    let result: Result

    enum CodingKeys: String, CodingKey { case jsonrpc, id, result }
}

private struct ErrorBody: Encodable {
    let id: RequestID?
    let error: RPCErrorObject

    enum CodingKeys: String, CodingKey { case jsonrpc, id, error }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("2.0", forKey: .jsonrpc)
        // JSON-RPC requires `"id": null` when the request's id could not be determined.
        try container.encode(id, forKey: .id)
        try container.encode(error, forKey: .error)
    }
}
