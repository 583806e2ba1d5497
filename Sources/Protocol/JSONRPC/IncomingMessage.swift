/// A received JSON-RPC 2.0 body, classified, with its bytes kept for typed decoding of the
/// params or result (and for signature verification, which needs the bytes as sent).
public struct IncomingMessage: Sendable {
    public enum Kind: Sendable, Equatable {
        case request(id: RequestID, method: String)
        case notification(method: String)
        case response(id: RequestID)
        /// An error response; `id` is nil when the peer could not read the request's id.
        case errorResponse(id: RequestID?, error: RPCError)
    }

    public let kind: Kind
    /// W3C trace context sent with a request, if any.
    public let trace: TraceContext?
    /// The body exactly as received.
    public let body: [UInt8]

    /// The method of a request or notification.
    public var method: String? {
        switch kind {
        case .request(_, let method), .notification(let method): method
        case .response, .errorResponse: nil
        }
    }

    /// The id of a request or response.
    public var id: RequestID? {
        switch kind {
        case .request(let id, _), .response(let id): id
        case .errorResponse(let id, _): id
        case .notification: nil
        }
    }

    /// Parses and classifies a body. Throws `FrameError.invalidUTF8` or `.invalidJSON` when the
    /// bytes are not a JSON object, and an `RPCError` (`invalid_request`) when the object is not
    /// a well-formed JSON-RPC 2.0 message.
    public init(body: [UInt8]) throws {
        let envelope: Envelope
        do {
            envelope = try JSONCoding.decode(Envelope.self, from: body)
        } catch {
            // The decoder validates UTF-8 itself; tell the two failures apart only when it failed.
            guard String(validating: body, as: UTF8.self) != nil else { throw FrameError.invalidUTF8 }
            throw FrameError.invalidJSON(Self.describe(error))
        }
        guard envelope.jsonrpc == "2.0" else {
            throw RPCError(.invalidRequest, "the jsonrpc member must be present and equal to \"2.0\"")
        }
        self.body = body
        self.trace = envelope.trace
        switch (envelope.method, envelope.id, envelope.hasResult, envelope.error) {
        case (let method?, .some(let id?), false, nil):
            kind = .request(id: id, method: method)
        case (let method?, nil, false, nil):
            kind = .notification(method: method)
        case (nil, .some(let id?), true, nil):
            kind = .response(id: id)
        case (nil, let id, false, let error?):
            kind = .errorResponse(id: id ?? nil, error: error.rpcError)
        default:
            throw RPCError(
                .invalidRequest,
                "not a JSON-RPC 2.0 request, notification or response (check method, id, result and error)"
            )
        }
    }

    /// Decodes the `params` member of a request or notification.
    public func decodeParams<Params: Decodable>(_ type: Params.Type = Params.self) throws(RPCError) -> Params
    {
        do {
            return try JSONCoding.decode(ParamsEnvelope<Params>.self, from: body).params
        } catch {
            throw RPCError(
                .invalidParams,
                "params do not match \(method ?? "the method"): \(Self.describe(error))"
            )
        }
    }

    /// Decodes the `result` member of a response, or throws the error of an error response.
    public func decodeResult<Result: Decodable>(_ type: Result.Type = Result.self) throws(RPCError) -> Result
    {
        if case .errorResponse(_, let error) = kind { throw error }
        do {
            return try JSONCoding.decode(ResultEnvelope<Result>.self, from: body).result
        } catch {
            throw RPCError(.internalError, "result does not match the expected type: \(Self.describe(error))")
        }
    }

    /// A one-line account of a decoding error, naming the coding path.
    static func describe(_ error: any Error) -> String {
        guard let decodingError = error as? DecodingError else { return String(describing: error) }
        func path(_ context: DecodingError.Context) -> String {
            let joined = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(
                separator: "."
            )
            return joined.isEmpty ? "" : " at \(joined)"
        }
        switch decodingError {
        case .keyNotFound(let key, let context):
            return "missing member \(key.stringValue)\(path(context))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "wrong type\(path(context)): \(context.debugDescription)"
        case .dataCorrupted(let context):
            return "\(context.debugDescription)\(path(context))"
        @unknown default:
            return String(describing: error)
        }
    }
}

/// The members needed to classify a message, nothing more.
private struct Envelope: Decodable {
    var jsonrpc: String?
    /// `nil`: absent; `.some(nil)`: explicit null.
    var id: RequestID??
    var method: String?
    var hasResult: Bool
    var error: RPCErrorObject?
    var trace: TraceContext?

    enum CodingKeys: String, CodingKey { case jsonrpc, id, method, result, error, trace }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        jsonrpc = try container.decodeIfPresent(String.self, forKey: .jsonrpc)
        if container.contains(.id) {
            id = .some(
                try container.decodeNil(forKey: .id) ? nil : container.decode(RequestID.self, forKey: .id)
            )
        } else {
            id = nil
        }
        method = try container.decodeIfPresent(String.self, forKey: .method)
        hasResult = container.contains(.result)
        error = try container.decodeIfPresent(RPCErrorObject.self, forKey: .error)
        // W3C: a receiver ignores an invalid traceparent and starts a new trace.
        trace = try? container.decodeIfPresent(TraceContext.self, forKey: .trace)
    }
}

private struct ParamsEnvelope<Params: Decodable>: Decodable {
    var params: Params
}

private struct ResultEnvelope<Result: Decodable>: Decodable {
    var result: Result
}
