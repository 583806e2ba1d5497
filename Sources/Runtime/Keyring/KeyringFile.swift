import Foundation
public import RollbackProtocol

/// Reads a keyring file (`spec/protocol.md`, "Keyrings"), refusing one that group or others could
/// read: a secret readable by other users is no secret. The one reader of keyring files: the
/// agent, the broker, the dispatcher, `rollbackctl` and the client library all load through it.
public enum KeyringFile {
    /// - Throws: `KeyringFileError` with a message that names the path and the fix.
    public static func load(_ path: String) throws(KeyringFileError) -> Keyring {
        let bytes = try read(path)
        do {
            return try Keyring(json: bytes)
        } catch {
            throw KeyringFileError(message: "\(path): \(error)")
        }
    }

    /// The file's bytes, once its mode is checked: for readers that parse more than the keys
    /// (the broker's keyring also says what each key may do).
    public static func read(_ path: String) throws(KeyringFileError) -> [UInt8] {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw KeyringFileError(message: "cannot read \(path): \(String(cString: strerror(errno)))")
        }
        guard st.st_mode & 0o077 == 0 else {
            throw KeyringFileError(
                message:
                    "\(path) has mode \(String(st.st_mode & 0o777, radix: 8)); it must not be readable by group or others (chmod 600)"
            )
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KeyringFileError(message: "cannot read \(path)")
        }
        return Array(data)
    }
}

/// Why a keyring file could not be used.
public struct KeyringFileError: Error, Hashable, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

extension KeyringFile {
    /// Loads a keyring named by a configuration field; a problem is that field's error.
    public static func load(
        _ path: String,
        field: String,
        source: ConfigurationSource? = nil
    ) throws(ConfigurationError) -> Keyring {
        do {
            return try load(path)
        } catch {
            throw ConfigurationError(field: field, message: error.message, source: source)
        }
    }
}
