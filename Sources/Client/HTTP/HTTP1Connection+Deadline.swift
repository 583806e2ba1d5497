public import NIOCore
public import NIOPosix

extension HTTP1Connection {
    /// One request on a connection of its own, with a deadline for the whole exchange
    /// (connecting, sending, and reading the whole response): a server that accepts and never
    /// answers costs the caller `timeout`, not forever. Past it the connection is closed and
    /// ``HTTP1ClientError/timedOut(after:)`` is thrown.
    public static func request(
        host: String,
        port: Int,
        tls: ClientTLS? = nil,
        maxBodyBytes: Int = 16 << 20,
        timeout: Duration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        method: String,
        target: String,
        headers: [(name: String, value: String)] = [],
        body: [UInt8] = []
    ) async throws -> HTTP1Response {
        try await withThrowingTaskGroup(of: HTTP1Response?.self) { group in
            group.addTask {
                try await withConnection(
                    host: host,
                    port: port,
                    maxBodyBytes: maxBodyBytes,
                    tls: tls,
                    eventLoopGroup: eventLoopGroup
                ) { connection in
                    try await connection.send(method: method, target: target, headers: headers, body: body)
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            // Cancelling the exchange ends its reads and closes its channel, so the group's
            // wait for it is short.
            defer { group.cancelAll() }
            guard let first = try await group.next(), let response = first else {
                throw HTTP1ClientError.timedOut(after: timeout)
            }
            return response
        }
    }
}
