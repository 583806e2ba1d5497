import RollbackProtocol
import RollbackTransport

/// Loads the agent's keyring; a problem is a configuration error of `keyringFile`.
enum AgentKeyring {
    static func load(_ path: String) throws(ConfigurationError) -> Keyring {
        do {
            return try KeyringFile.load(path)
        } catch {
            throw ConfigurationError(field: "keyringFile", message: error.message)
        }
    }
}
