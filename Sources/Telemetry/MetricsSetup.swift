import Metrics
public import Prometheus

/// The one way a Rollback process sends swift-metrics to Prometheus.
public enum MetricsSetup {
    /// Bootstraps swift-metrics with a Prometheus registry (once per process) and returns it.
    public static func bootstrapPrometheus(
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()
    ) -> PrometheusCollectorRegistry {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }
}
