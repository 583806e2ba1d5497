import NIOCore

/// Ends a connection on which nothing has arrived for its limit: after `IdleStateHandler`'s
/// read-idle event it raises ``HTTP1ClientError/idle(after:)`` (the reader gets that, not a
/// plain close) and closes the channel. For long-lived responses, such as an event stream whose
/// server sends keep-alives: a connection that died without a word (a half-open TCP connection
/// delivers nothing and reports nothing) is noticed instead of waited on for good.
final class ReadIdleLimit: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let limit: Duration

    init(limit: Duration) {
        self.limit = limit
    }

    /// The handlers to put first in a pipeline (nearest the socket, so every byte counts).
    static func handlers(limit: Duration) -> [any ChannelHandler] {
        [IdleStateHandler(readTimeout: TimeAmount(limit)), ReadIdleLimit(limit: limit)]
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        context.fireErrorCaught(HTTP1ClientError.idle(after: limit))
        context.close(promise: nil)
    }
}
