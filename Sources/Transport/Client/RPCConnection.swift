public import Logging
public import NIOCore
public import NIOPosix
public import RollbackProtocol
import Synchronization

/// The calling side of the protocol on one Unix-socket connection: signs every message,
/// multiplexes concurrent calls, routes `job.progress` notifications to the call they belong
/// to, and turns task cancellation into a signed `$/cancelRequest` (the call still waits for
/// the request's one final response).
///
/// Use it within `withConnection`, which closes the socket when the body returns:
/// ```swift
/// let health = try await RPCConnection.withConnection(socketPath: path, signer: signer) { connection in
///     try await connection.call(AgentHealth.self, EmptyParams())
/// }
/// ```
public final class RPCConnection: Sendable {
    /// Progress callback for a call.
    public typealias ProgressHandler = @Sendable (JobProgress.Params) -> Void

    /// A call waiting for its response. The response may arrive before the caller starts
    /// waiting (it is then kept in `outcome`), or after (it then resumes `continuation`).
    private struct Pending {
        var continuation: CheckedContinuation<IncomingMessage, any Error>?
        var outcome: Result<IncomingMessage, any Error>?
        var progress: ProgressHandler?

        mutating func deliver(
            _ result: Result<IncomingMessage, any Error>
        ) -> CheckedContinuation<IncomingMessage, any Error>? {
            if continuation == nil { outcome = result }
            return continuation
        }
    }

    private struct State {
        var pending: [RequestID: Pending] = [:]
        /// Set once the connection can carry no more responses.
        var closedReason: String?
    }

    public let signer: RequestSigner
    private let outbound: FrameOutbox
    private let logger: Logger
    private let state = Mutex(State())
    private let nextID = Atomic<Int64>(1)

    private init(signer: RequestSigner, outbound: NIOAsyncChannelOutboundWriter<Frame>, logger: Logger) {
        self.signer = signer
        self.outbound = FrameOutbox(writer: outbound)
        self.logger = logger
    }

    /// Connects to `socketPath`, runs `body` with the connection, then closes it.
    @discardableResult
    public static func withConnection<Result: Sendable>(
        socketPath: String,
        signer: RequestSigner,
        frameLimits: FrameLimits = .default,
        logger: Logger = Logger(label: "rollback.rpc.client"),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        _ body: (RPCConnection) async throws -> Result
    ) async throws -> Result {
        let channel = try await ClientBootstrap(group: eventLoopGroup)
            .connect(unixDomainSocketPath: socketPath) { channel in
                channel.eventLoop.makeCompletedFuture { try channel.makeFrameChannel(limits: frameLimits) }
            }
        return try await channel.executeThenClose { inbound, outbound in
            let connection = RPCConnection(signer: signer, outbound: outbound, logger: logger)
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await connection.readResponses(from: inbound) }
                defer { group.cancelAll() }
                return try await body(connection)
            }
        }
    }

    /// Calls `Method` and returns its result, or throws the `RPCError` the server answered.
    ///
    /// - Parameters:
    ///   - trace: the W3C trace context to send along.
    ///   - onCancellation: what cancelling the calling task does. `.cancelRequest` (the default)
    ///     sends a signed `$/cancelRequest` and keeps waiting for the one final response;
    ///     `.abandon` stops waiting at once (throwing `CancellationError`) and leaves the request
    ///     running on the server, for a caller that will come back for it with `job.status`.
    ///   - progress: receives `job.progress` notifications tied to this request.
    public func call<Method: RPCMethod>(
        _ method: Method.Type,
        _ params: Method.Params,
        trace: TraceContext? = nil,
        onCancellation: CancellationBehavior = .cancelRequest,
        progress: ProgressHandler? = nil
    ) async throws -> Method.Result {
        let id = RequestID.number(nextID.wrappingAdd(1, ordering: .relaxed).oldValue)
        let body = try OutgoingMessage.request(id: id, method: Method.name, params: params, trace: trace)
        let frame = signer.frame(body: body, method: Method.name, id: id)
        let response = try await send(frame, awaiting: id, onCancellation: onCancellation, progress: progress)
        return try response.decodeResult(Method.Result.self)
    }

    /// Sends a signed notification.
    public func notify<Notification: RPCNotificationMethod>(
        _ notification: Notification.Type,
        _ params: Notification.Params
    ) async throws {
        let body = try OutgoingMessage.notification(method: Notification.name, params: params)
        try await write(signer.frame(body: body, method: Notification.name, id: nil))
    }

    /// Sends `frame` as is (for tests and tools that build frames themselves) and returns the
    /// response with `id`.
    public func send(
        _ frame: Frame,
        awaiting id: RequestID,
        onCancellation: CancellationBehavior = .cancelRequest,
        progress: ProgressHandler? = nil
    ) async throws -> IncomingMessage {
        let refusal: String? = state.withLock { state in
            if let reason = state.closedReason { return reason }
            state.pending[id] = Pending(progress: progress)
            return nil
        }
        if let refusal { throw TransportError.connectionClosed(reason: refusal) }
        return try await withTaskCancellationHandler {
            do {
                try await write(frame)
            } catch {
                state.withLock { _ = $0.pending.removeValue(forKey: id) }
                throw error
            }
            return try await withCheckedThrowingContinuation {
                (continuation: CheckedContinuation<IncomingMessage, any Error>) in
                let early: Result<IncomingMessage, any Error>? = state.withLock { state in
                    guard var pending = state.pending[id] else {
                        return .failure(
                            TransportError.connectionClosed(reason: state.closedReason ?? "call abandoned")
                        )
                    }
                    if let outcome = pending.outcome {
                        state.pending.removeValue(forKey: id)
                        return outcome
                    }
                    pending.continuation = continuation
                    state.pending[id] = pending
                    return nil
                }
                if let early { continuation.resume(with: early) }
            }
        } onCancel: {
            switch onCancellation {
            case .cancelRequest:
                // Ask the server to stop; the call keeps waiting for the one final response.
                Task { try? await self.notify(CancelRequest.self, CancelRequest.Params(id: id)) }
            case .abandon:
                abandon(id)
            }
        }
    }

    /// What cancelling a call's task does.
    public enum CancellationBehavior: Sendable {
        /// Send `$/cancelRequest` and wait for the final response.
        case cancelRequest
        /// Stop waiting now; the request keeps running on the server.
        case abandon
    }

    /// Ends the wait for `id` with `CancellationError`; a response arriving later is dropped.
    private func abandon(_ id: RequestID) {
        let waiting = state.withLock { state -> CheckedContinuation<IncomingMessage, any Error>? in
            guard state.pending[id] != nil else { return nil }
            let waiting = state.pending[id]!.deliver(.failure(CancellationError()))
            if waiting != nil { state.pending.removeValue(forKey: id) }
            return waiting
        }
        waiting?.resume(throwing: CancellationError())
    }

    /// Sends a frame without waiting for anything (for tests of refusals).
    public func sendWithoutWaiting(_ frame: Frame) async throws {
        try await write(frame)
    }

    private func write(_ frame: Frame) async throws {
        guard await outbound.send(frame) else {
            throw TransportError.connectionClosed(
                reason: state.withLock { $0.closedReason } ?? "the connection is closed"
            )
        }
    }

    private func readResponses(from inbound: NIOAsyncChannelInboundStream<Frame>) async {
        var reason = "the agent closed the connection"
        do {
            for try await frame in inbound {
                route(frame)
            }
        } catch {
            reason = "\(error)"
        }
        failAll(with: TransportError.connectionClosed(reason: reason), reason: reason)
    }

    /// Ends every waiting call with `error`; later calls are refused with `reason`.
    private func failAll(with error: any Error, reason: String) {
        let waiting = state.withLock { state in
            state.closedReason = state.closedReason ?? reason
            var waiting: [CheckedContinuation<IncomingMessage, any Error>] = []
            for id in state.pending.keys {
                if let continuation = state.pending[id]!.deliver(.failure(error)) {
                    waiting.append(continuation)
                    state.pending.removeValue(forKey: id)
                }
            }
            return waiting
        }
        for continuation in waiting { continuation.resume(throwing: error) }
    }

    private func route(_ frame: Frame) {
        let message: IncomingMessage
        do {
            message = try IncomingMessage(body: frame.body)
        } catch {
            logger.warning("unreadable message from server", metadata: ["error": "\(error)"])
            return
        }
        switch message.kind {
        case .response(let id), .errorResponse(.some(let id), _):
            let (known, waiting) = state.withLock {
                state -> (Bool, CheckedContinuation<IncomingMessage, any Error>?) in
                guard state.pending[id] != nil else { return (false, nil) }
                let waiting = state.pending[id]!.deliver(.success(message))
                if waiting != nil { state.pending.removeValue(forKey: id) }
                return (true, waiting)
            }
            waiting?.resume(returning: message)
            if !known { logger.debug("response for unknown request", metadata: ["rpc.id": "\(id)"]) }
        case .errorResponse(nil, let error):
            // The server refused the connection or a frame it could not attribute; it closes next.
            logger.warning("server error without request id", metadata: ["error": "\(error)"])
            failAll(with: error, reason: error.description)
        case .notification(JobProgress.name):
            guard let params = try? message.decodeParams(JobProgress.Params.self) else { return }
            let handler = state.withLock { $0.pending[params.requestID]?.progress }
            handler?(params)
        case .notification(let method):
            logger.debug("ignoring notification", metadata: ["rpc.method": "\(method)"])
        case .request:
            logger.warning("server sent a request; ignoring")
        }
    }
}
