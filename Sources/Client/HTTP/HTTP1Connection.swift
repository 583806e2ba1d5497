public import NIOCore
import NIOHTTP1
public import NIOPosix
import NIOSSL

/// One keep-alive HTTP/1.1 connection over TCP, with TLS when given `ClientTLS`, one request at
/// a time: the transport under the broker client and the broker's webhook sender. No
/// redirects.
public final class HTTP1Connection {
    private var inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>
    private let host: String
    /// Largest response body read, so a confused server cannot exhaust memory.
    private let maxBodyBytes: Int

    private init(
        inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>,
        outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>,
        host: String,
        maxBodyBytes: Int
    ) {
        self.inbound = inbound.makeAsyncIterator()
        self.outbound = outbound
        self.host = host
        self.maxBodyBytes = maxBodyBytes
    }

    /// Connects, runs `body` with the connection, and closes it. With `readIdleLimit`, a
    /// connection on which nothing arrives for that long fails with
    /// ``HTTP1ClientError/idle(after:)`` and is closed.
    public static func withConnection<Result>(
        host: String,
        port: Int,
        maxBodyBytes: Int = 16 << 20,
        tls: ClientTLS? = nil,
        readIdleLimit: Duration? = nil,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        _ body: (HTTP1Connection) async throws -> Result
    ) async throws -> Result {
        let channel = try await ClientBootstrap(group: eventLoopGroup)
            .connectTimeout(.seconds(5))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let readIdleLimit {
                        try channel.pipeline.syncOperations.addHandlers(
                            ReadIdleLimit.handlers(limit: readIdleLimit)
                        )
                    }
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(
                                context: tls.context,
                                serverHostname: ClientTLS.serverHostname(host)
                            )
                        )
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                        wrappingChannelSynchronously: channel
                    )
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            let connection = HTTP1Connection(
                inbound: inbound,
                outbound: outbound,
                host: "\(host):\(port)",
                maxBodyBytes: maxBodyBytes
            )
            return try await body(connection)
        }
    }

    /// Sends one request and hands the response over as it arrives: first the head (with an
    /// empty body), then each body chunk, until `receive` returns false or the response ends.
    /// For endless responses such as Server-Sent Events; close the connection afterwards.
    public func stream(
        method: String,
        target: String,
        headers: [(name: String, value: String)] = [],
        body: [UInt8] = [],
        receive: (HTTP1StreamPart) async throws -> Bool
    ) async throws {
        try await writeRequest(method: method, target: target, headers: headers, body: body)
        while let part = try await inbound.next() {
            switch part {
            case .head(let head):
                let response = HTTP1Response(
                    status: Int(head.status.code),
                    headers: head.headers.map { ($0.name, $0.value) },
                    body: []
                )
                guard try await receive(.head(response)) else { return }
            case .body(var buffer):
                guard try await receive(.body(buffer.readBytes(length: buffer.readableBytes) ?? [])) else {
                    return
                }
            case .end:
                _ = try await receive(.end)
                return
            }
        }
        throw HTTP1ClientError.connectionClosed
    }

    /// Sends one request and reads its whole response.
    public func send(
        method: String,
        target: String,
        headers: [(name: String, value: String)] = [],
        body: [UInt8] = []
    ) async throws -> HTTP1Response {
        try await writeRequest(method: method, target: target, headers: headers, body: body)
        var response: HTTP1Response?
        while let part = try await inbound.next() {
            switch part {
            case .head(let head):
                response = HTTP1Response(
                    status: Int(head.status.code),
                    headers: head.headers.map { ($0.name, $0.value) },
                    body: []
                )
            case .body(var buffer):
                guard response != nil else { throw HTTP1ClientError.malformedResponse("body before head") }
                guard response!.body.count + buffer.readableBytes <= maxBodyBytes else {
                    throw HTTP1ClientError.responseTooLarge(limit: maxBodyBytes)
                }
                response!.body += buffer.readBytes(length: buffer.readableBytes) ?? []
            case .end:
                guard let response else { throw HTTP1ClientError.malformedResponse("end before head") }
                return response
            }
        }
        throw HTTP1ClientError.connectionClosed
    }

    private func writeRequest(
        method: String,
        target: String,
        headers: [(name: String, value: String)],
        body: [UInt8]
    ) async throws {
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: target)
        head.headers.add(name: "Host", value: host)
        head.headers.add(name: "Content-Length", value: String(body.count))
        if !body.isEmpty { head.headers.add(name: "Content-Type", value: "application/json") }
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        try await outbound.write(.head(head))
        if !body.isEmpty { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
        try await outbound.write(.end(nil))
    }
}

/// One piece of a streamed response.
public enum HTTP1StreamPart: Sendable {
    case head(HTTP1Response)
    case body([UInt8])
    case end
}

/// A whole HTTP response.
public struct HTTP1Response: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    /// The first header of that name (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}
