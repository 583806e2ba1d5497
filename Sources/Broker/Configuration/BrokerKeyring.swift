public import RollbackProtocol
import RollbackTransport

/// Loads the broker's keyring (the web tier's and build system's keys); a problem is a
/// configuration error of `keyringFile`.
public enum BrokerKeyring {
    public static func load(
        _ path: String,
        field: String = "keyringFile"
    ) throws(BrokerConfigurationError) -> Keyring {
        do {
            return try KeyringFile.load(path)
        } catch {
            throw BrokerConfigurationError(field: field, message: error.message)
        }
    }
}
