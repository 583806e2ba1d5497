public import Prometheus
import RollbackRuntime

/// The broker's Prometheus metrics, on a registry of its own (served at `GET /metrics`), so that
/// several brokers in one process (the tests) never share or double-register a metric. Names
/// start with a configurable prefix (default `rollback`): `rollback_duration_seconds`,
/// `rollback_failures_total`, `rollback_in_progress`, `rollback_build_info` and so on.
public final class BrokerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let prefix: String
    /// From the rollback request to its outcome, per outcome (`succeeded`, `failed`).
    private let durationSucceeded: DurationHistogram
    private let durationFailed: DurationHistogram
    /// Rollbacks whose job is queued or running, as last counted from PostgreSQL.
    let rollbacksInProgress: Gauge
    /// Jobs waiting to be claimed, as last counted from PostgreSQL.
    let queueDepth: Gauge

    static let durationBuckets: [Duration] = [
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10),
        .seconds(30), .seconds(60), .seconds(120), .seconds(300), .seconds(900), .seconds(1800),
    ]
    static let requestBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .seconds(5),
    ]

    public init(prefix: String, registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        self.prefix = prefix
        func duration(_ outcome: String) -> DurationHistogram {
            registry.makeDurationHistogram(
                descriptor: .init(
                    namespace: prefix,
                    metricName: "duration",
                    unitName: "seconds",
                    helpText: "Time from an accepted rollback request to its outcome."
                ),
                labels: [("outcome", outcome)],
                buckets: Self.durationBuckets
            )
        }
        durationSucceeded = duration("succeeded")
        durationFailed = duration("failed")
        rollbacksInProgress = registry.makeGauge(
            descriptor: .init(
                namespace: prefix,
                metricName: "in_progress",
                unitName: "",
                helpText: "Rollbacks whose working-directory job is queued or running."
            )
        )
        registry.makeGauge(
            descriptor: .init(
                namespace: prefix,
                metricName: "build_info",
                unitName: "",
                helpText: "The running build: always 1, labelled with its version and git commit."
            ),
            labels: [("version", BuildInfo.version), ("commit", BuildInfo.commit)]
        ).set(1.0)
        queueDepth = registry.makeGauge(
            descriptor: .init(
                namespace: prefix,
                metricName: "job_queue_depth",
                unitName: "",
                helpText: "Jobs waiting to be claimed by a dispatcher."
            )
        )
    }

    func rollbackFinished(succeeded: Bool, after duration: Duration, failureReason: String?) {
        (succeeded ? durationSucceeded : durationFailed).record(duration)
        if let failureReason {
            registry.makeCounter(
                descriptor: .init(
                    namespace: prefix,
                    metricName: "failures",
                    unitName: "total",
                    helpText: "Rollbacks that failed, by the agent's error name or the dispatcher's reason."
                ),
                labels: [("reason", failureReason)]
            ).increment()
        }
    }

    /// One answered HTTP request. `route` is the route pattern, never the raw path, so that the
    /// label set stays small.
    func httpRequest(method: String, route: String, status: Int, duration: Duration) {
        registry.makeCounter(
            descriptor: .init(
                namespace: prefix,
                metricName: "http_requests",
                unitName: "total",
                helpText: "HTTP requests answered, by method, route and status."
            ),
            labels: [("method", method), ("route", route), ("status", String(status))]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: .init(
                namespace: prefix,
                metricName: "http_request_duration",
                unitName: "seconds",
                helpText: "Time to answer an HTTP request, by route."
            ),
            labels: [("route", route)],
            buckets: Self.requestBuckets
        ).record(duration)
    }

    /// The exposition text for `GET /metrics`.
    public func exposition() -> [UInt8] { registry.emitToBuffer() }
}
