import Logging
import NIOCore
import RollbackProtocol

/// Serves one accepted connection: reads frames, verifies, dispatches, answers.
struct ConnectionSession: Sendable {
    let peer: PeerCredentials
    let verifier: RequestVerifier
    let methods: MethodRegistry
    let maxInFlight: Int
    let logger: Logger
    /// The server's, shared by every connection.
    let warnings: WarningThrottle

    private enum Next {
        case continueReading
        case close
    }

    func run(
        inbound: NIOAsyncChannelInboundStream<Frame>,
        outbound writer: NIOAsyncChannelOutboundWriter<Frame>
    ) async {
        let inFlight = InFlightRequests(limit: maxInFlight)
        let outbound = FrameOutbox(writer: writer)
        do {
            for try await frame in inbound {
                if case .close = await process(frame, inFlight: inFlight, outbound: outbound) { break }
            }
        } catch let error as FrameError {
            // A bad frame ends the connection, with an error the peer can read first.
            logger.warning(
                "bad frame; closing connection",
                throttledBy: warnings,
                metadata: ["error.name": "\(error.name)", "error": "\(error)"]
            )
            await send(
                RPCError(.parseError, error.description, details: ["reason": error.name]),
                id: nil,
                on: outbound
            )
        } catch {
            // Cancellation (the server is stopping) or a broken connection: stop reading.
            logger.debug("connection stopped reading", metadata: ["reason": "\(error)"])
        }
        // The peer is gone, misbehaved, or the server is stopping. Requests already running are
        // not cancelled: a long job must not die with the connection that started it (the
        // caller reconnects and asks for its status). Only `$/cancelRequest` cancels a request;
        // the owner of the handlers decides when a stopping server gives up waiting.
        for task in inFlight.all() { await task.value }
    }

    private func process(
        _ frame: Frame,
        inFlight: InFlightRequests,
        outbound: FrameOutbox
    ) async -> Next {
        let message: IncomingMessage
        do {
            message = try IncomingMessage(body: frame.body)
        } catch let error as FrameError {
            logger.warning(
                "unreadable message; closing connection",
                throttledBy: warnings,
                metadata: ["error.name": "\(error.name)"]
            )
            await send(
                RPCError(.parseError, error.description, details: ["reason": error.name]),
                id: nil,
                on: outbound
            )
            return .close
        } catch {
            let rpcError = error as? RPCError ?? RPCError(.invalidRequest, "\(error)")
            await send(rpcError, id: nil, on: outbound)
            return .close
        }

        switch message.kind {
        case .response, .errorResponse:
            await send(
                RPCError(.invalidRequest, "this server accepts requests and notifications only"),
                id: nil,
                on: outbound
            )
            return .close

        case .notification(let method):
            do {
                try verifier.verify(frame: frame, message: message)
            } catch {
                logger.warning(
                    "refused notification",
                    throttledBy: warnings,
                    metadata: ["rpc.method": "\(method)", "auth.reason": "\(error.name)"]
                )
                await send(error.rpcError, id: nil, on: outbound)
                return .close
            }
            if method == CancelRequest.name, let params = try? message.decodeParams(CancelRequest.Params.self)
            {
                logger.debug("cancel requested", metadata: ["rpc.id": "\(params.id)"])
                inFlight.cancel(params.id)
            } else {
                logger.debug("ignoring notification", metadata: ["rpc.method": "\(method)"])
            }
            return .continueReading

        case .request(let id, let method):
            do {
                try verifier.verify(frame: frame, message: message)
            } catch {
                logger.warning(
                    "refused request",
                    throttledBy: warnings,
                    metadata: ["rpc.id": "\(id)", "rpc.method": "\(method)", "auth.reason": "\(error.name)"]
                )
                await send(error.rpcError, id: id, on: outbound)
                return .continueReading
            }
            guard let handler = methods.handler(for: method) else {
                await send(
                    RPCError(.methodNotFound, "no method named \(method)", details: ["method": method]),
                    id: id,
                    on: outbound
                )
                return .continueReading
            }
            switch inFlight.admit(id) {
            case .duplicateID:
                await send(
                    RPCError(.invalidRequest, "request id \(id) is already in flight on this connection"),
                    id: id,
                    on: outbound
                )
                return .continueReading
            case .full:
                await send(
                    RPCError(.busy, "more than \(maxInFlight) requests in flight on this connection"),
                    id: id,
                    on: outbound
                )
                return .continueReading
            case .admitted:
                break
            }
            var requestLogger = logger
            requestLogger[metadataKey: "rpc.id"] = "\(id)"
            requestLogger[metadataKey: "rpc.method"] = "\(method)"
            if let trace = message.trace { requestLogger[metadataKey: "trace.id"] = "\(trace.traceID)" }
            let context = RequestContext(
                id: id,
                method: method,
                peer: peer,
                trace: message.trace,
                logger: requestLogger,
                outbound: outbound
            )
            let task = Task {
                // Exactly one final response per request, whatever happened in the handler.
                await outbound.send(
                    Frame(body: await Self.answer(message, context: context, handler: handler))
                )
                inFlight.finish(id)
            }
            inFlight.attach(task, to: id)
            return .continueReading
        }
    }

    private static func answer(
        _ message: IncomingMessage,
        context: RequestContext,
        handler: MethodRegistry.Handler
    ) async -> [UInt8] {
        do {
            return try await handler(message, context)
        } catch let error as RPCError {
            return OutgoingMessage.errorResponse(id: context.id, error: error)
        } catch is CancellationError {
            return OutgoingMessage.errorResponse(
                id: context.id,
                error: RPCError(.cancelled, "the request was cancelled")
            )
        } catch {
            context.logger.error("handler failed", metadata: ["error": "\(error)"])
            return OutgoingMessage.errorResponse(id: context.id, error: RPCError(.internalError, "\(error)"))
        }
    }

    private func send(_ error: RPCError, id: RequestID?, on outbound: FrameOutbox) async {
        await outbound.send(Frame(body: OutgoingMessage.errorResponse(id: id, error: error)))
    }
}
