public import Logging
import OTel
public import ServiceLifecycle

/// The one way a Rollback process exports its spans: swift-otel's OTLP/HTTP exporter as the
/// swift-distributed-tracing backend. Off unless an endpoint is configured; the standard
/// `OTEL_*` environment variables (e.g. `OTEL_BSP_SCHEDULE_DELAY`) still apply.
public enum TracingSetup {
    /// Bootstraps tracing (once per process) and returns the `Service` that exports; run it in
    /// the process's `ServiceGroup`. Nil when `endpoint` is empty.
    public static func bootstrap(
        serviceName: String,
        endpoint: String,
        protocol name: String
    ) throws -> (any Service)? {
        guard !endpoint.isEmpty else { return nil }
        var configuration = OTel.Configuration.default
        configuration.serviceName = serviceName
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.enabled = true
        configuration.traces.otlpExporter.endpoint = endpoint
        configuration.traces.otlpExporter.protocol = name == "http/json" ? .httpJSON : .httpProtobuf
        return try OTel.bootstrap(configuration: configuration)
    }

    /// Adds `trace_id` and `span_id` to every log line written inside a span.
    public static var loggingMetadataProvider: Logger.MetadataProvider { OTel.makeLoggingMetadataProvider() }
}
