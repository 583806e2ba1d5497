import Foundation
import RollbackProtocol

/// Loads the agent's keyring, refusing a file that other users could read.
enum KeyringFile {
    static func load(_ path: String) throws(ConfigurationError) -> Keyring {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw ConfigurationError(
                field: "keyringFile",
                message: "cannot read \(path): \(String(cString: strerror(errno)))"
            )
        }
        guard st.st_mode & 0o077 == 0 else {
            throw ConfigurationError(
                field: "keyringFile",
                message:
                    "\(path) has mode \(String(st.st_mode & 0o777, radix: 8)); it must not be readable by group or others (chmod 600)"
            )
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(field: "keyringFile", message: "cannot read \(path)")
        }
        do {
            return try Keyring(json: Array(data))
        } catch {
            throw ConfigurationError(field: "keyringFile", message: "\(path): \(error)")
        }
    }
}
