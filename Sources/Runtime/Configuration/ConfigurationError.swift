/// A configuration problem: which field, where its value came from, and what is wrong with it.
///
/// Printed as one line, e.g. `configuration: socketPath (from ROLLBACK_AGENT_SOCKET_PATH): must
/// be an absolute path`, so an operator knows which of file, environment or flag to fix.
public struct ConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    public let field: String
    public let message: String
    /// Where the offending value came from; nil when not known (yet).
    public var source: ConfigurationSource?

    public init(field: String, message: String, source: ConfigurationSource? = nil) {
        self.field = field
        self.message = message
        self.source = source
    }

    /// The same error, naming `source` unless it already names one.
    public func from(_ source: ConfigurationSource?) -> ConfigurationError {
        var error = self
        if error.source == nil { error.source = source }
        return error
    }

    public var description: String {
        if let source {
            "configuration: \(field) (from \(source)): \(message)"
        } else {
            "configuration: \(field): \(message)"
        }
    }
}

extension ConfigurationError {
    /// `text` as a whole number of at least 0, for settings where 0 has a meaning of its own
    /// (`zeroMeans`, named in the error so that the fix is in the message).
    public static func zeroOrMore(
        _ text: String,
        field: String,
        zeroMeans: String
    ) throws(ConfigurationError)
        -> Int
    {
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)), value >= 0 else {
            throw ConfigurationError(
                field: field,
                message: "must be 0 (\(zeroMeans)) or more, got \"\(text)\""
            )
        }
        return value
    }
}
