/// The rules of the `tracesEndpoint` and `tracesProtocol` fields every daemon has.
public enum TracingRules {
    public static let protocols = ["http/protobuf", "http/json"]

    /// Empty (tracing off) or an `http(s)://host:port` OTLP/HTTP collector.
    public static func checkEndpoint(
        _ text: String,
        field: String = "tracesEndpoint"
    ) throws(ConfigurationError) {
        guard text.isEmpty || text.hasPrefix("http://") || text.hasPrefix("https://") else {
            throw ConfigurationError(
                field: field,
                message: "must be empty (off) or an OTLP/HTTP collector URL such as http://127.0.0.1:4318"
            )
        }
    }

    public static func checkProtocol(
        _ text: String,
        field: String = "tracesProtocol"
    ) throws(ConfigurationError) {
        guard protocols.contains(text) else {
            throw ConfigurationError(
                field: field,
                message: "must be http/protobuf or http/json, got \"\(text)\""
            )
        }
    }
}
