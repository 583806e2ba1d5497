import Foundation
public import RollbackProtocol

/// Loads the broker's keyring (the web tier's and build system's keys), refusing a file that
/// other users could read.
public enum BrokerKeyring {
    public static func load(_ path: String) throws(BrokerConfigurationError) -> Keyring {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw BrokerConfigurationError(
                field: "keyringFile",
                message: "cannot read \(path): \(String(cString: strerror(errno)))"
            )
        }
        guard st.st_mode & 0o077 == 0 else {
            throw BrokerConfigurationError(
                field: "keyringFile",
                message:
                    "\(path) has mode \(String(st.st_mode & 0o777, radix: 8)); it must not be readable by group or others (chmod 600)"
            )
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BrokerConfigurationError(field: "keyringFile", message: "cannot read \(path)")
        }
        do {
            return try Keyring(json: Array(data))
        } catch {
            throw BrokerConfigurationError(field: "keyringFile", message: "\(path): \(error)")
        }
    }
}
