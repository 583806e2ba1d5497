import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The maximum-throughput load, driven from the event loops the way pgbench drives its
/// connections: each keep-alive connection writes a request, reads the whole answer and writes
/// the next one, with no task switch in between and the request bytes encoded before the clock
/// starts. So the load generator takes as little CPU as it can from the broker it measures (on
/// 2 shared cores, every bit of its CPU is the broker's loss).
enum LoopDrivenLoad {
    struct Result: Sendable {
        var latencies: [Double] = []
        var statuses: [Int: Int] = [:]
    }

    /// Sends requests from `requests` in order over `connections` connections until `deadline`.
    static func run(
        port: Int,
        requests: [[UInt8]],
        connections: Int,
        until deadline: NIODeadline
    ) async throws -> Result {
        let group = MultiThreadedEventLoopGroup.singleton
        let buffers = requests.map { ByteBuffer(bytes: $0) }
        let counter = NIOLockedValueBox(0)
        let next: @Sendable () -> ByteBuffer? = {
            guard NIODeadline.now() < deadline else { return nil }
            return counter.withLockedValue { index in
                defer { index += 1 }
                return index < buffers.count ? buffers[index] : nil
            }
        }
        var total = Result()
        try await withThrowingTaskGroup(of: Result.self) { tasks in
            for _ in 0..<connections {
                tasks.addTask {
                    let done = group.next().makePromise(of: Result.self)
                    let channel = try await ClientBootstrap(group: group)
                        .channelInitializer { channel in
                            channel.eventLoop.makeCompletedFuture {
                                try channel.pipeline.syncOperations.addHandler(Driver(next: next, done: done))
                            }
                        }
                        .connect(host: "127.0.0.1", port: port).get()
                    let result = try await done.futureResult.get()
                    try? await channel.close()
                    return result
                }
            }
            for try await part in tasks {
                total.latencies += part.latencies
                total.statuses.merge(part.statuses, uniquingKeysWith: +)
            }
        }
        return total
    }

    /// One connection's loop: send, read the answer (status line, Content-Length, body), repeat.
    final class Driver: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        private let next: @Sendable () -> ByteBuffer?
        private let done: EventLoopPromise<Result>
        private var received = ByteBuffer()
        private var sentAt = NIODeadline.now()
        private var result = Result()

        init(next: @escaping @Sendable () -> ByteBuffer?, done: EventLoopPromise<Result>) {
            self.next = next
            self.done = done
        }

        func channelActive(context: ChannelHandlerContext) {
            sendNext(context: context)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            received.writeBuffer(&bytes)
            while let status = takeAnswer() {
                result.latencies.append(Double((NIODeadline.now() - sentAt).nanoseconds) / 1e9)
                result.statuses[status, default: 0] += 1
                sendNext(context: context)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            done.succeed(result)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            done.fail(error)
            context.close(promise: nil)
        }

        private func sendNext(context: ChannelHandlerContext) {
            guard let request = next() else {
                done.succeed(result)
                return
            }
            sentAt = .now()
            context.writeAndFlush(wrapOutboundOut(request), promise: nil)
        }

        /// Removes one whole answer from `received` and returns its status, or nil if the answer
        /// is not complete yet.
        private func takeAnswer() -> Int? {
            let view = received.readableBytesView
            guard let headerEnd = Self.headerEnd(in: view) else { return nil }
            let head = String(decoding: view[view.startIndex..<headerEnd], as: UTF8.self)
            let lines = head.split(separator: "\r\n")
            guard let statusLine = lines.first, statusLine.count >= 12,
                let status = Int(statusLine.dropFirst(9).prefix(3))
            else { return nil }
            let length =
                lines.dropFirst().lazy.compactMap { line -> Int? in
                    let parts = line.split(separator: ":", maxSplits: 1)
                    guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
                    return Int(parts[1].trimmingPrefix(" "))
                }.first ?? 0
            let whole = headerEnd + 4 - view.startIndex + length
            guard received.readableBytes >= whole else { return nil }
            received.moveReaderIndex(forwardBy: whole)
            received.discardReadBytes()
            return status
        }

        /// Where the blank line that ends the head (CR LF CR LF) starts, if it has arrived.
        private static func headerEnd(in view: ByteBufferView) -> Int? {
            var index = view.startIndex
            while index + 3 < view.endIndex {
                if view[index] == 13 && view[index + 1] == 10 && view[index + 2] == 13
                    && view[index + 3] == 10
                {
                    return index
                }
                index += 1
            }
            return nil
        }
    }
}
