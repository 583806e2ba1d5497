public import RollbackProtocol
public import Tracing

/// Carries a span's context across the wire as W3C trace context (`TraceContext`, the protocol's
/// `trace` member and the stored `traceparent` of a job), through whatever instrument the process
/// bootstrapped. With none (the default, no-op instrument) nothing is injected.
public enum TracePropagation {
    /// The context of the current span as a `TraceContext`, or nil when no tracer is bootstrapped.
    public static func current(_ context: ServiceContext? = ServiceContext.current) -> TraceContext? {
        guard let context else { return nil }
        var carrier: [String: String] = [:]
        InstrumentationSystem.instrument.inject(context, into: &carrier, using: DictionaryInjector())
        return carrier["traceparent"].flatMap {
            TraceContext(traceparent: $0, tracestate: carrier["tracestate"])
        }
    }

    /// A service context whose remote parent is `trace` (a top-level one when nil).
    public static func context(from trace: TraceContext?) -> ServiceContext {
        var context = ServiceContext.topLevel
        guard let trace else { return context }
        var carrier = ["traceparent": trace.traceparent]
        if let state = trace.tracestate { carrier["tracestate"] = state }
        InstrumentationSystem.instrument.extract(carrier, into: &context, using: DictionaryExtractor())
        return context
    }
}

private struct DictionaryInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
        carrier[key] = value
    }
}

private struct DictionaryExtractor: Extractor {
    func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
}
