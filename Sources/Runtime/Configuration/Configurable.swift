/// A configuration that `ConfigurationLoader` can fill from a file, the environment, flags and
/// `--set field=value`. Every field has a textual form, so one parser (`set(_:to:)`) checks
/// the value whatever its source.
public protocol Configurable: Encodable, Sendable {
    init()

    /// Prefix of the environment variables: `ROLLBACK_AGENT` gives `ROLLBACK_AGENT_SOCKET_PATH`.
    static var environmentPrefix: String { get }

    /// The fields settable by file, environment and flags, by their JSON names.
    static var fieldNames: [String] { get }

    /// Sets one field from its textual form. An unknown field or a bad value throws, naming
    /// the field.
    mutating func set(_ field: String, to text: String) throws(ConfigurationError)

    /// Checks what only the whole configuration can tell; the first problem names its field.
    func validate() throws(ConfigurationError)
}

extension Configurable {
    /// The environment variable of `field`: `socketPath` → `<prefix>_SOCKET_PATH`,
    /// `idempotencyTTLSeconds` → `<prefix>_IDEMPOTENCY_TTL_SECONDS`,
    /// `allowedPeerUIDs` → `<prefix>_ALLOWED_PEER_UIDS`.
    public static func environmentName(of field: String) -> String {
        "\(environmentPrefix)_\(EnvironmentName.words(of: field).joined(separator: "_"))"
    }
}

/// The one rule that turns a lower-camel-case field name into environment-variable words.
enum EnvironmentName {
    /// A word starts at a capital after a lower-case letter or digit, or at the last capital of
    /// an acronym followed by a lower-case word (`TTLSeconds` → `TTL`, `Seconds`). A plural
    /// acronym keeps its `s` (`UIDs` → `UIDS`).
    static func words(of field: String) -> [String] {
        let characters = Array(field)
        var words: [String] = []
        var current = ""
        for (index, character) in characters.enumerated() {
            if index > 0, character.isUppercase, !current.isEmpty {
                let previous = characters[index - 1]
                let startsWord: Bool
                if previous.isLowercase || previous.isNumber {
                    startsWord = true
                } else {
                    // Previous is a capital: a new word only if a lower-case word follows that
                    // is more than an acronym's plural `s`.
                    let rest = characters[(index + 1)...].prefix(while: \.isLowercase)
                    startsWord = !rest.isEmpty && String(rest) != "s"
                }
                if startsWord {
                    words.append(current)
                    current = ""
                }
            }
            current.append(character)
        }
        if !current.isEmpty { words.append(current) }
        return words.map { $0.uppercased() }
    }
}
