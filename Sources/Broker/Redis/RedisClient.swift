import NIOConcurrencyHelpers
import NIOPosix

/// A small pool of blocking hiredis connections, used from async code.
///
/// Every command runs on a thread pool of the client's own, never on Swift's cooperative pool
/// (hiredis blocks). A connection that fails is dropped; the next command opens a new one, so
/// the client recovers by itself once Redis is back.
public final class RedisClient: Sendable {
    public let endpoint: RedisEndpoint
    private let threads: NIOThreadPool
    private let idle = NIOLockedValueBox<[RedisConnection]>([])
    private let timeout: Duration
    private let maxIdle: Int

    /// - Parameter concurrency: threads, and so commands in flight at once.
    public init(endpoint: RedisEndpoint, concurrency: Int = 8, timeout: Duration = .seconds(1)) {
        self.endpoint = endpoint
        self.threads = NIOThreadPool(numberOfThreads: concurrency)
        self.threads.start()
        self.timeout = timeout
        self.maxIdle = concurrency
    }

    deinit {
        threads.shutdownGracefully { _ in }
    }

    /// Sends one command and returns its reply; an error reply is returned, not thrown.
    public func command(_ arguments: [String]) async throws(RedisError) -> RedisReply {
        try await withConnection { connection throws(RedisError) in try connection.command(arguments) }
    }

    /// Runs several commands on one connection, in order, pipelined (one round trip; no
    /// transaction: each command stands alone).
    public func commands(_ list: [[String]]) async throws(RedisError) -> [RedisReply] {
        try await withConnection { connection throws(RedisError) in try connection.pipeline(list) }
    }

    private func withConnection<Result: Sendable>(
        _ body: @escaping @Sendable (RedisConnection) throws(RedisError) -> Result
    ) async throws(RedisError) -> Result {
        let endpoint = self.endpoint
        let timeout = self.timeout
        do {
            return try await threads.runIfActive { [idle, maxIdle] in
                // The connection moves between pool threads, one owner at a time.
                let connection =
                    try idle.withLockedValue { $0.popLast() }
                    ?? RedisConnection(host: endpoint.host, port: endpoint.port, timeout: timeout)
                let result = try body(connection)
                idle.withLockedValue { connections in
                    if connections.count < maxIdle { connections.append(connection) }
                }
                return result
            }
        } catch let error as RedisError {
            throw error
        } catch {
            throw RedisError(
                code: .unreachable,
                message: "thread pool stopped: \(error)",
                endpoint: endpoint.description
            )
        }
    }
}

extension RedisEndpoint: CustomStringConvertible {
    public var description: String { "\(host):\(port)" }
}
