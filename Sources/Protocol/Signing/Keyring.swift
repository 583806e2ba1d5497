#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Several signing keys, so that a key can be rotated without downtime: verifiers accept every
/// key in the ring, signers use the active one.
///
/// On disk (see `spec/protocol.md`, "Keyrings"):
/// ```json
/// { "active": "k2", "keys": [ { "id": "k1", "secret": "<base64>" }, { "id": "k2", "secret": "<base64>" } ] }
/// ```
public struct Keyring: Sendable {
    private let keys: [String: SigningKey]
    /// The key signers use.
    public let activeKey: SigningKey

    public init(keys: [SigningKey], activeKeyID: String? = nil) throws(KeyringError) {
        guard let last = keys.last else { throw .empty }
        var byID: [String: SigningKey] = [:]
        for key in keys {
            guard byID.updateValue(key, forKey: key.id) == nil else { throw .duplicateKeyID(key.id) }
        }
        let activeID = activeKeyID ?? last.id
        guard let active = byID[activeID] else { throw .unknownActiveKey(activeID) }
        self.keys = byID
        self.activeKey = active
    }

    /// Reads the JSON form shown above.
    public init(json: [UInt8]) throws(KeyringError) {
        let file: KeyringFile
        do {
            file = try JSONCoding.decode(KeyringFile.self, from: json)
        } catch {
            throw .unreadable(IncomingMessage.describe(error))
        }
        var keys: [SigningKey] = []
        for entry in file.keys {
            guard let secret = Data(base64Encoded: entry.secret) else {
                throw .invalidSecretEncoding(keyID: entry.id)
            }
            keys.append(try SigningKey(id: entry.id, secret: Array(secret)))
        }
        try self.init(keys: keys, activeKeyID: file.active)
    }

    /// The key with the given id, if the ring holds it.
    public func key(id: String) -> SigningKey? { keys[id] }

    /// Ids of every key in the ring, sorted.
    public var keyIDs: [String] { keys.keys.sorted() }
}

private struct KeyringFile: Decodable {
    struct Entry: Decodable {
        var id: String
        var secret: String
    }

    var active: String?
    var keys: [Entry]
}
