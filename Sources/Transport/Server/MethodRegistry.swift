public import RollbackProtocol

/// The methods a server answers, each bound to a typed handler.
public struct MethodRegistry: Sendable {
    /// Decodes params from the message, runs the handler, and encodes the response body.
    typealias Handler = @Sendable (IncomingMessage, RequestContext) async throws -> [UInt8]

    private var handlers: [String: Handler] = [:]

    public init() {}

    /// Registers `handler` for `Method`. A handler reports failure by throwing `RPCError`;
    /// any other error becomes `internal`, and `CancellationError` becomes `cancelled`.
    public mutating func register<Method: RPCMethod>(
        _ method: Method.Type,
        handler: @escaping @Sendable (Method.Params, RequestContext) async throws -> Method.Result
    ) {
        handlers[Method.name] = { message, context in
            let params = try message.decodeParams(Method.Params.self)
            let result = try await handler(params, context)
            return try OutgoingMessage.response(id: context.id, result: result)
        }
    }

    /// Names of the registered methods, sorted.
    public var methodNames: [String] { handlers.keys.sorted() }

    func handler(for method: String) -> Handler? { handlers[method] }
}
