import NIOCore
import RollbackProtocol

/// Feeds received bytes through the protocol's `FrameDecoder` and passes complete frames on.
/// A framing error (including a stream that ends inside a frame) is passed on as an error,
/// which ends the `NIOAsyncChannel`'s inbound sequence with that error.
final class FrameDecodingHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = Frame

    private var decoder: FrameDecoder
    private var failed = false

    init(limits: FrameLimits) {
        decoder = FrameDecoder(limits: limits)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        let buffer = unwrapInboundIn(data)
        buffer.withUnsafeReadableBytes { decoder.append($0) }
        do {
            while let frame = try decoder.nextFrame() {
                context.fireChannelRead(wrapInboundOut(frame))
            }
        } catch {
            failed = true
            context.fireErrorCaught(error)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(context: context)
        context.fireChannelInactive()
    }

    /// The peer's half-close (`shutdown(SHUT_WR)`): the stream has ended, but the connection can
    /// still carry the answer — a frame cut short gets its `truncated` error before the close.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed = event as? ChannelEvent { finish(context: context) }
        context.fireUserInboundEventTriggered(event)
    }

    private func finish(context: ChannelHandlerContext) {
        guard !failed else { return }
        do {
            try decoder.finish()
        } catch {
            failed = true
            context.fireErrorCaught(error)
        }
    }
}

/// Writes frames as header, auth section and body.
final class FrameEncodingHandler: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = Frame
    typealias OutboundOut = ByteBuffer

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let frame = unwrapOutboundIn(data)
        var bytes: [UInt8] = []
        FrameEncoder.encode(frame, into: &bytes)
        let buffer = context.channel.allocator.buffer(bytes: bytes)
        context.write(wrapOutboundOut(buffer), promise: promise)
    }
}

extension Channel {
    /// Adds the frame codec and wraps the channel for async use. Call on the channel's event loop.
    func makeFrameChannel(limits: FrameLimits) throws -> NIOAsyncChannel<Frame, Frame> {
        try pipeline.syncOperations.addHandlers([
            FrameDecodingHandler(limits: limits), FrameEncodingHandler(),
        ])
        return try NIOAsyncChannel<Frame, Frame>(wrappingChannelSynchronously: self)
    }
}
