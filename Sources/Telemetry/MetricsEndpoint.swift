public import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
public import Prometheus
public import RollbackRuntime
public import ServiceLifecycle

/// A `Service` serving Prometheus text at `GET /metrics` from a registry, on a loopback port
/// or a Unix socket; nothing else. For daemons without an HTTP server of their own (the agent).
public struct MetricsEndpoint: Service {
    public let address: MetricsListenAddress
    let registry: PrometheusCollectorRegistry
    let logger: Logger

    public init(address: MetricsListenAddress, registry: PrometheusCollectorRegistry, logger: Logger) {
        self.address = address
        self.registry = registry
        self.logger = logger
    }

    public func run() async throws {
        let registry = self.registry
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(MetricsHTTPHandler(registry: registry))
                }
            }
        let channel: any Channel
        do {
            switch address {
            case .tcp(let host, let port):
                channel = try await bootstrap.bind(host: host, port: port).get()
            case .unix(let path):
                unlink(path)  // a socket file left by an earlier run of this daemon
                channel = try await bootstrap.bind(unixDomainSocketPath: path).get()
            }
        } catch {
            throw StartupError("cannot serve metrics on \(address): \(error)")
        }
        logger.info("serving metrics", metadata: ["metrics.address": "\(address)"])
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                try? await channel.closeFuture.get()
            } onCancel: {
                channel.close(promise: nil)
            }
        } onGracefulShutdown: {
            channel.close(promise: nil)
        }
        if case .unix(let path) = address { unlink(path) }
    }
}

/// Answers `GET /metrics` with the registry's exposition, anything else with 404.
private final class MetricsHTTPHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let registry: PrometheusCollectorRegistry

    init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let request) = unwrapInboundIn(data) else { return }
        let found = request.method == .GET && request.uri.split(separator: "?").first == "/metrics"
        let body = found ? registry.emitToBuffer() : Array("not found; GET /metrics\n".utf8)
        var headers = HTTPHeaders()
        headers.add(
            name: "Content-Type",
            value: found ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8"
        )
        headers.add(name: "Content-Length", value: String(body.count))
        headers.add(name: "Connection", value: "close")
        let head = HTTPResponseHead(
            version: request.version,
            status: found ? .ok : .notFound,
            headers: headers
        )
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(
            wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))),
            promise: nil
        )
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in bound.value.close(promise: nil)
        }
    }
}
