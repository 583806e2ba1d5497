import Metrics
public import Prometheus
import RollbackRuntime

/// The one way a Rollback process sends swift-metrics to Prometheus.
public enum MetricsSetup {
    /// Bootstraps swift-metrics with a Prometheus registry (once per process) and returns it.
    public static func bootstrapPrometheus(
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()
    ) -> PrometheusCollectorRegistry {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }

    /// `<prefix>_build_info{version, commit} 1`: which build is running, the Prometheus way.
    public static func recordBuildInfo(prefix: String, in registry: PrometheusCollectorRegistry) {
        registry.makeGauge(
            descriptor: .init(
                namespace: prefix,
                metricName: "build_info",
                unitName: "",
                helpText: "The running build: always 1, labelled with its version and git commit."
            ),
            labels: [("version", BuildInfo.version), ("commit", BuildInfo.commit)]
        ).set(1.0)
    }
}
