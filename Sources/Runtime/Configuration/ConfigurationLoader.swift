import RollbackProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Builds a configuration from its sources, later ones winning: defaults, a JSON file, the
/// `<prefix>_*` environment variables, flags, then `--set field=value`. Every source goes
/// through the configuration's own `set(_:to:)`; unknown keys are refused everywhere, and an
/// error names the field and the source of its value.
public struct ConfigurationLoader<Configuration: Configurable> {
    /// The configuration, and where each field that is not a default came from.
    public private(set) var configuration = Configuration()
    public private(set) var sources: [String: ConfigurationSource] = [:]

    public init() {}

    /// Reads `file` (if given), then `environment`, `flags` (field, flag name, value if given)
    /// and `assignments` (`field=value`), then validates.
    public static func load(
        file: String?,
        environment: [String: String],
        flags: [(field: String, flag: String, value: String?)] = [],
        assignments: [String] = [],
        validate: Bool = true
    ) throws(ConfigurationError) -> ConfigurationLoader {
        var loader = ConfigurationLoader()
        if let file { try loader.apply(file: file) }
        try loader.apply(environment: environment)
        for (field, flag, value) in flags {
            if let value { try loader.set(field, to: value, from: .flag(name: flag)) }
        }
        for assignment in assignments { try loader.apply(assignment: assignment) }
        if validate { try loader.validate() }
        return loader
    }

    /// Sets `field` from `source`, remembering the source for later errors.
    public mutating func set(
        _ field: String,
        to text: String,
        from source: ConfigurationSource
    ) throws(ConfigurationError) {
        guard Configuration.fieldNames.contains(field) else {
            throw ConfigurationError(field: field, message: "unknown field", source: source)
        }
        do {
            try configuration.set(field, to: text)
        } catch {
            throw error.from(source)
        }
        sources[field] = source
    }

    /// Validates the whole configuration; the error names where the offending value came from.
    public func validate() throws(ConfigurationError) {
        do {
            try configuration.validate()
        } catch {
            throw error.from(sources[error.field] ?? .defaultValue)
        }
    }

    /// A JSON object of fields. Strings, integers, booleans, null (the default) and, for list
    /// fields, arrays of those are accepted.
    public mutating func apply(file path: String) throws(ConfigurationError) {
        let source = ConfigurationSource.file(path: path)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(field: "config", message: "cannot read \(path)")
        }
        guard let object = try? JSONDecoder().decode([String: JSONValue].self, from: data) else {
            throw ConfigurationError(field: "config", message: "\(path) is not a JSON object")
        }
        for key in object.keys.sorted() {
            guard let text = Self.text(of: object[key]!) else {
                throw ConfigurationError(
                    field: key,
                    message: "must be a string, integer, boolean or a list of them",
                    source: source
                )
            }
            try set(key, to: text, from: source)
        }
    }

    public mutating func apply(environment: [String: String]) throws(ConfigurationError) {
        for field in Configuration.fieldNames {
            let variable = Configuration.environmentName(of: field)
            if let value = environment[variable] {
                try set(field, to: value, from: .environment(variable: variable))
            }
        }
    }

    /// One `field=value` of `--set`.
    public mutating func apply(assignment: String) throws(ConfigurationError) {
        guard let equals = assignment.firstIndex(of: "=") else {
            throw ConfigurationError(
                field: assignment,
                message: "--set takes field=value",
                source: .assignment
            )
        }
        try set(
            String(assignment[..<equals]),
            to: String(assignment[assignment.index(after: equals)...]),
            from: .assignment
        )
    }

    /// The textual form of a JSON value, as it would be written in the environment.
    static func text(of value: JSONValue) -> String? {
        switch value {
        case .null: ""
        case .string(let string): string
        case .bool(let flag): flag ? "true" : "false"
        case .number(let number):
            number == number.rounded() && abs(number) < 9.0e15 ? String(Int64(number)) : nil
        case .array(let items):
            items.map { text(of: $0) }.reduce(into: [String]?([])) { list, item in
                if let item, !item.contains(",") { list?.append(item) } else { list = nil }
            }?.joined(separator: ",")
        case .object: nil
        }
    }
}
