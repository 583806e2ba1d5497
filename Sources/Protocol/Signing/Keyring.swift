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
///
/// A key may also name its `caller` (the broker's HTTP API scopes idempotency keys and audit rows
/// by caller, so two keys of one caller during a rotation share one scope); without it the
/// caller is the key id.
public struct Keyring: Sendable {
    private let keys: [String: SigningKey]
    private let callers: [String: String]
    /// The key signers use.
    public let activeKey: SigningKey

    public init(
        keys: [SigningKey],
        activeKeyID: String? = nil,
        callers: [String: String] = [:]
    ) throws(KeyringError) {
        guard let last = keys.last else { throw .empty }
        var byID: [String: SigningKey] = [:]
        for key in keys {
            guard byID.updateValue(key, forKey: key.id) == nil else { throw .duplicateKeyID(key.id) }
        }
        let activeID = activeKeyID ?? last.id
        guard let active = byID[activeID] else { throw .unknownActiveKey(activeID) }
        self.keys = byID
        self.activeKey = active
        self.callers = callers
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
        var callers: [String: String] = [:]
        for entry in file.keys {
            if let caller = entry.caller {
                guard Tokens.isToken(caller, length: 1...64) else { throw .invalidKeyID(caller) }
                callers[entry.id] = caller
            }
            guard let secret = Data(base64Encoded: entry.secret) else {
                throw .invalidSecretEncoding(keyID: entry.id)
            }
            keys.append(try SigningKey(id: entry.id, secret: Array(secret)))
        }
        try self.init(keys: keys, activeKeyID: file.active, callers: callers)
    }

    /// The key with the given id, if the ring holds it.
    public func key(id: String) -> SigningKey? { keys[id] }

    /// Who signs with the key: its `caller`, or the key id when none is given.
    public func caller(ofKeyID id: String) -> String { callers[id] ?? id }

    /// Ids of every key in the ring, sorted.
    public var keyIDs: [String] { keys.keys.sorted() }
}

private struct KeyringFile: Decodable {
    struct Entry: Decodable {
        var id: String
        var secret: String
        var caller: String?
    }

    var active: String?
    var keys: [Entry]
}
