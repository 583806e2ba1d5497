import Hummingbird

/// Counts every answered request and times it, labelled by route pattern (never the raw path,
/// which would make one label per project id). Outermost, so refusals are counted too.
struct RequestMetricsMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let metrics: BrokerMetrics

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        metrics.httpRequest(
            method: request.method.rawValue,
            route: context.endpointPath ?? "unmatched",
            status: response.status.code,
            duration: .now - start
        )
        return response
    }
}
