import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The broker's Redis: one connection on a NIO event loop that every caller shares.
///
/// Nothing blocks: commands are written as they come and replies are matched in order
/// (`RedisChannelHandler`), so concurrent requests' commands leave together in one write, and
/// hiredis only parses (`RedisReplyReader`). A connection that breaks or stops answering is
/// dropped and every command waiting on it fails; the next command opens a new one, so the
/// client recovers by itself once Redis is back.
public final class RedisClient: Sendable {
    public let endpoint: RedisEndpoint
    private let timeout: Duration
    private let state = NIOLockedValueBox<State>(.disconnected)

    private enum State {
        case disconnected
        case connecting(EventLoopFuture<any Channel>)
        case connected(any Channel)
    }

    /// - Parameter timeout: how long a connection attempt, and a command's reply, may take.
    public init(endpoint: RedisEndpoint, timeout: Duration = .seconds(1)) {
        self.endpoint = endpoint
        self.timeout = timeout
    }

    deinit {
        switch state.withLockedValue({ $0 }) {
        case .connected(let channel): channel.close(promise: nil)
        case .connecting(let future): future.whenSuccess { $0.close(promise: nil) }
        case .disconnected: break
        }
    }

    /// Sends one command and returns its reply; an error reply is returned, not thrown.
    public func command(_ arguments: [String]) async throws(RedisError) -> RedisReply {
        try await commands([arguments])[0]
    }

    /// Sends several commands in one write and returns their replies in order: one round trip,
    /// no transaction (each command stands alone).
    public func commands(_ list: [[String]]) async throws(RedisError) -> [RedisReply] {
        // Nothing to send would mean no reply to wait for: the request would never complete.
        if list.isEmpty { return [] }
        let channel = try await connectedChannel()
        let replies = channel.eventLoop.makePromise(of: [RedisReply].self)
        let written = channel.eventLoop.makePromise(of: Void.self)
        // A write that never reached the handler (the channel closed meanwhile) fails here.
        written.futureResult.whenFailure { [endpoint] error in
            replies.fail(RedisChannelHandler.redisError(error, endpoint: endpoint.description))
        }
        channel.writeAndFlush(RedisRequest(commands: list, promise: replies), promise: written)
        do {
            return try await replies.futureResult.get()
        } catch {
            throw RedisChannelHandler.redisError(error, endpoint: endpoint.description)
        }
    }

    private func connectedChannel() async throws(RedisError) -> any Channel {
        enum Next {
            case use(any Channel)
            case wait(EventLoopFuture<any Channel>)
            case connect(EventLoopPromise<any Channel>)
        }
        let next: Next = state.withLockedValue { state in
            switch state {
            case .connected(let channel) where channel.isActive:
                return .use(channel)
            case .connecting(let future):
                return .wait(future)
            case .connected, .disconnected:
                let promise = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: (any Channel).self)
                state = .connecting(promise.futureResult)
                return .connect(promise)
            }
        }
        let future: EventLoopFuture<any Channel>
        switch next {
        case .use(let channel):
            return channel
        case .wait(let pending):
            future = pending
        case .connect(let promise):
            // Outside the lock: a connect that fails at once completes its callbacks right away.
            connect().whenComplete { [state] result in
                state.withLockedValue { state in
                    switch result {
                    case .success(let channel): state = .connected(channel)
                    case .failure: state = .disconnected
                    }
                }
                promise.completeWith(result)
            }
            future = promise.futureResult
        }
        do {
            return try await future.get()
        } catch {
            throw RedisError(code: .unreachable, message: "\(error)", endpoint: endpoint.description)
        }
    }

    private func connect() -> EventLoopFuture<any Channel> {
        let endpoint = endpoint.description
        let timeout = TimeAmount(self.timeout)
        return ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        RedisChannelHandler(endpoint: endpoint, timeout: timeout)
                    )
                }
            }
            .connect(host: self.endpoint.host, port: self.endpoint.port)
    }
}

extension RedisEndpoint: CustomStringConvertible {
    public var description: String { "\(host):\(port)" }
}
