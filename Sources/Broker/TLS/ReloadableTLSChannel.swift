import HummingbirdCore
import Logging
import NIOCore
import NIOSSL

/// Hummingbird's HTTP/1 child channel behind TLS, taking the server context from a
/// `TLSContextStore` for each new connection, so that `SIGHUP` can swap the certificate.
/// (HummingbirdTLS's `TLSChannel` fixes its context when the server starts.) A client that
/// speaks plain HTTP to this port fails the handshake and is disconnected; the server goes on.
struct ReloadableTLSChannel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = HTTP1Channel.Value

    let base: HTTP1Channel
    let store: TLSContextStore

    var responder: HTTPChannelHandler.Responder { base.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: store.current))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1 over TLS with the store's current certificate for each connection.
    static func reloadableTLS(_ store: TLSContextStore) -> HTTPServerBuilder {
        .init { responder in
            ReloadableTLSChannel(base: HTTP1Channel(responder: responder), store: store)
        }
    }
}
