import NIOCore
import RollbackProtocol

/// Feeds received bytes through the protocol's `FrameDecoder` and passes complete frames on.
/// A framing error (including a stream that ends inside a frame) is passed on as an error,
/// which ends the `NIOAsyncChannel`'s inbound sequence with that error.
///
/// With a `frameTimeout`, a frame must be complete that long after its first byte arrived, or
/// the connection fails with `frame_timeout`. The clock is not reset by later bytes of the same
/// frame, so a peer trickling a byte at a time cannot hold a connection (and up to a frame's
/// worth of buffer) for ever.
final class FrameDecodingHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = Frame

    private var decoder: FrameDecoder
    private var failed = false
    private let frameTimeout: TimeAmount?
    private var pendingFrameDeadline: Scheduled<Void>?

    init(limits: FrameLimits, frameTimeout: TimeAmount? = nil) {
        decoder = FrameDecoder(limits: limits)
        self.frameTimeout = frameTimeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        let buffer = unwrapInboundIn(data)
        buffer.withUnsafeReadableBytes { decoder.append($0) }
        do {
            while let frame = try decoder.nextFrame() {
                // A frame completed: the clock, if any, was for it.
                pendingFrameDeadline?.cancel()
                pendingFrameDeadline = nil
                context.fireChannelRead(wrapInboundOut(frame))
            }
        } catch {
            fail(error, context: context)
            return
        }
        if decoder.bufferedByteCount > 0, pendingFrameDeadline == nil, let frameTimeout {
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            pendingFrameDeadline = context.eventLoop.scheduleTask(in: frameTimeout) {
                let (handler, context) = loopBound.value
                handler.pendingFrameDeadline = nil
                guard !handler.failed else { return }
                let seconds = frameTimeout.nanoseconds / 1_000_000_000
                handler.fail(
                    FrameError.timedOut(seconds: seconds, received: handler.decoder.bufferedByteCount),
                    context: context
                )
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        pendingFrameDeadline?.cancel()
        pendingFrameDeadline = nil
        finish(context: context)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        pendingFrameDeadline?.cancel()
        pendingFrameDeadline = nil
    }

    private func fail(_ error: any Error, context: ChannelHandlerContext) {
        failed = true
        pendingFrameDeadline?.cancel()
        pendingFrameDeadline = nil
        context.fireErrorCaught(error)
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
            fail(error, context: context)
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
    func makeFrameChannel(
        limits: FrameLimits,
        frameTimeout: TimeAmount? = nil
    ) throws -> NIOAsyncChannel<Frame, Frame> {
        try pipeline.syncOperations.addHandlers([
            FrameDecodingHandler(limits: limits, frameTimeout: frameTimeout), FrameEncodingHandler(),
        ])
        return try NIOAsyncChannel<Frame, Frame>(wrappingChannelSynchronously: self)
    }
}
