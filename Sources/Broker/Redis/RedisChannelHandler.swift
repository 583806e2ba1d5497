import NIOCore

/// Commands sent together on the shared connection, and the promise for their replies.
struct RedisRequest: Sendable {
    var commands: [[String]]
    var promise: EventLoopPromise<[RedisReply]>
}

/// Speaks RESP on one connection that every caller shares. Requests are written in the order
/// they come, so the commands of concurrent callers leave in one write, and replies are handed
/// out in the same order, as Redis answers in order. If a request has no reply by its deadline,
/// the connection is closed and every waiting request fails: once a reply is missing, the next
/// one can no longer be trusted to belong to the next request.
final class RedisChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private struct Waiting {
        var expected: Int
        var replies: [RedisReply]
        var promise: EventLoopPromise<[RedisReply]>
        var deadline: NIODeadline
    }

    private let endpoint: String
    private let timeout: TimeAmount
    private let reader = RedisReplyReader()
    private var waiting = CircularBuffer<Waiting>()
    private var timer: Scheduled<Void>?
    /// Why the connection can no longer be used, once it cannot.
    private var failure: RedisError?

    init(endpoint: String, timeout: TimeAmount) {
        self.endpoint = endpoint
        self.timeout = timeout
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        if let failure {
            request.promise.fail(failure)
            promise?.fail(failure)
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: 128)
        for command in request.commands { buffer.writeRedisCommand(command) }
        waiting.append(
            Waiting(
                expected: request.commands.count,
                replies: [],
                promise: request.promise,
                deadline: .now() + timeout
            )
        )
        armTimer(context: context)
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        do {
            try buffer.withUnsafeReadableBytes { bytes in try reader.feed(bytes) }
            while let reply = try reader.next() {
                guard !waiting.isEmpty else {
                    throw RedisError(
                        code: .protocolError,
                        message: "a reply nobody asked for",
                        endpoint: endpoint
                    )
                }
                let head = waiting.startIndex
                waiting[head].replies.append(reply)
                if waiting[head].replies.count == waiting[head].expected {
                    let done = waiting.removeFirst()
                    done.promise.succeed(done.replies)
                }
            }
        } catch {
            close(context: context, because: Self.redisError(error, endpoint: endpoint))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RedisError(code: .io, message: "the connection closed", endpoint: endpoint))
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        close(context: context, because: Self.redisError(error, endpoint: endpoint))
    }

    private func close(context: ChannelHandlerContext, because error: RedisError) {
        failAll(error)
        context.close(promise: nil)
    }

    private func failAll(_ error: RedisError) {
        if failure == nil { failure = error }
        while let request = waiting.popFirst() { request.promise.fail(failure ?? error) }
    }

    /// One timer per connection, due at the oldest waiting request's deadline: requests finish
    /// in order, so when it fires either that request is late or the timer moves on.
    private func armTimer(context: ChannelHandlerContext) {
        guard timer == nil, let oldest = waiting.first else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: oldest.deadline) {
            self.timer = nil
            guard let oldest = self.waiting.first else { return }
            if oldest.deadline <= .now() {
                let waited = Double(self.timeout.nanoseconds) / 1e9
                self.close(
                    context: context,
                    because: RedisError(
                        code: .io,
                        message: "no reply within \(waited) s",
                        endpoint: self.endpoint
                    )
                )
            } else {
                self.armTimer(context: context)
            }
        }
    }

    static func redisError(_ error: any Error, endpoint: String) -> RedisError {
        if let error = error as? RedisError {
            return RedisError(code: error.code, message: error.message, endpoint: endpoint)
        }
        return RedisError(code: .io, message: "\(error)", endpoint: endpoint)
    }
}

extension ByteBuffer {
    /// Writes one command as a RESP array of bulk strings, the form Redis accepts for any bytes.
    mutating func writeRedisCommand(_ arguments: [String]) {
        writeString("*\(arguments.count)\r\n")
        for argument in arguments {
            writeString("$\(argument.utf8.count)\r\n")
            writeString(argument)
            writeString("\r\n")
        }
    }
}
