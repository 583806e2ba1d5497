/// The rules of the `tracesEndpoint` and `tracesProtocol` fields every daemon has; each returns
/// the value it accepts, as `LogFormat.parse` does.
public enum TracingRules {
    public static let protocols = ["http/protobuf", "http/json"]

    /// Empty (tracing off) or an `http(s)://host:port` OTLP/HTTP collector.
    public static func endpoint(
        _ text: String,
        field: String = "tracesEndpoint"
    ) throws(ConfigurationError)
        -> String
    {
        guard text.isEmpty || text.hasPrefix("http://") || text.hasPrefix("https://") else {
            throw ConfigurationError(
                field: field,
                message: "must be empty (off) or an OTLP/HTTP collector URL such as http://127.0.0.1:4318"
            )
        }
        return text
    }

    public static func protocolName(
        _ text: String,
        field: String = "tracesProtocol"
    ) throws(ConfigurationError)
        -> String
    {
        guard protocols.contains(text) else {
            throw ConfigurationError(
                field: field,
                message: "must be http/protobuf or http/json, got \"\(text)\""
            )
        }
        return text
    }
}
