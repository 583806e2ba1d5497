/// How a process writes its log lines to standard error.
public enum LogFormat: String, Sendable, CaseIterable, Codable {
    /// swift-log's text lines, for people.
    case text
    /// One JSON object per line (`ts`, `level`, `label`, `message`, then metadata with its
    /// dotted keys), for log collectors.
    case json

    /// The rule of the `logFormat` configuration field.
    public static func parse(
        _ text: String,
        field: String = "logFormat"
    ) throws(ConfigurationError) -> LogFormat {
        guard let format = LogFormat(rawValue: text) else {
            throw ConfigurationError(field: field, message: "must be text or json, got \"\(text)\"")
        }
        return format
    }
}

/// The rule of every `logLevel` field.
public enum LogLevelRule {
    public static let names = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    public static func check(_ text: String, field: String = "logLevel") throws(ConfigurationError) {
        guard names.contains(text) else {
            throw ConfigurationError(field: field, message: "must be one of \(names.joined(separator: ", "))")
        }
    }
}
