import Logging
import OTel
public import RollbackRuntime
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

    /// What a daemon does at start: tracing when `endpoint` is set, then logging, whose lines
    /// carry `trace_id` and `span_id` inside a span when tracing is on. Returns the exporter to
    /// run in the daemon's `ServiceGroup`, or nil.
    public static func bootstrapWithLogging(
        serviceName: String,
        endpoint: String,
        protocol name: String,
        logLevel: String,
        logFormat: LogFormat
    ) throws -> (any Service)? {
        let tracing = try bootstrap(serviceName: serviceName, endpoint: endpoint, protocol: name)
        LoggingSetup.bootstrap(
            level: logLevel,
            format: logFormat,
            metadataProvider: tracing == nil ? nil : OTel.makeLoggingMetadataProvider()
        )
        return tracing
    }
}
