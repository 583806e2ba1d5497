import Foundation
import RollbackRuntime
import Synchronization

/// The broker's keyring as it is now: read from its file at start-up and again on `SIGHUP`, so
/// that adding, rotating or removing a key needs no restart. A removed key stops working with
/// the next request; connections stay open.
public final class KeyStore: Sendable {
    private let state: Mutex<AccessKeyring>
    /// Where `reload()` reads from; nil for a keyring given in code (tests).
    public let path: String?

    public init(_ keyring: AccessKeyring, path: String? = nil) {
        self.state = Mutex(keyring)
        self.path = path
    }

    /// Reads `path` (mode 600, like every keyring file).
    public convenience init(path: String) throws(AccessKeyringError) {
        self.init(try Self.read(path), path: path)
    }

    public var current: AccessKeyring { state.withLock { $0 } }

    /// Reads the file again. A file that cannot be used leaves the keys as they were (the error
    /// says why), so a typo during a rotation does not lock everyone out.
    @discardableResult
    public func reload() throws(AccessKeyringError) -> AccessKeyring {
        guard let path else { return current }
        let keyring = try Self.read(path)
        state.withLock { $0 = keyring }
        return keyring
    }

    private static func read(_ path: String) throws(AccessKeyringError) -> AccessKeyring {
        let bytes: [UInt8]
        do {
            bytes = try KeyringFile.read(path)
        } catch {
            throw AccessKeyringError(error.message)
        }
        do {
            return try AccessKeyring(json: bytes)
        } catch {
            throw AccessKeyringError("\(path): \(error.message)")
        }
    }
}
