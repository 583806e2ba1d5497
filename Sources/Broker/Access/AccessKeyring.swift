import Foundation
public import RollbackProtocol

/// The broker's keyring: the signing keys (a `Keyring`) and what each key may do. The file is
/// the keyring of `spec/protocol.md` §4.4 with more fields per key (see `spec/http-api.md`,
/// "Keys and roles"):
///
/// ```json
/// { "keys": [
///   { "id": "web-1", "secret": "<base64>", "caller": "web" },
///   { "id": "op-alice-1", "secret": "<base64>", "kind": "operator", "actor": "alice", "role": "operator",
///     "projects": ["shop-*"] } ] }
/// ```
///
/// `kind` defaults to `service`, so a keyring written before roles existed keeps working.
public struct AccessKeyring: Sendable {
    public let keyring: Keyring
    private let grants: [String: KeyGrant]

    /// Every key a service key (the keyring of a broker before roles).
    public init(serviceKeys keyring: Keyring) {
        self.keyring = keyring
        self.grants = [:]
    }

    public init(keyring: Keyring, grants: [String: KeyGrant]) {
        self.keyring = keyring
        self.grants = grants
    }

    /// Reads the JSON form above.
    public init(json: [UInt8]) throws(AccessKeyringError) {
        let keyring: Keyring
        do {
            keyring = try Keyring(json: json)
        } catch {
            throw AccessKeyringError("\(error)")
        }
        let file: GrantFile
        do {
            file = try JSONDecoder().decode(GrantFile.self, from: Data(json))
        } catch {
            throw AccessKeyringError("cannot read the keys' grants: \(error)")
        }
        var grants: [String: KeyGrant] = [:]
        for entry in file.keys {
            grants[entry.id] = try entry.grant()
        }
        self.init(keyring: keyring, grants: grants)
    }

    /// What the key may do (`service` unless the file says otherwise).
    public func grant(ofKeyID id: String) -> KeyGrant { grants[id] ?? .service }
}

/// Why a broker keyring could not be used.
public struct AccessKeyringError: Error, Sendable, CustomStringConvertible {
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}

private struct GrantFile: Decodable {
    struct Entry: Decodable {
        var id: String
        var kind: String?
        var actor: String?
        var role: String?
        var projects: [String]?
        var caller: String?

        func grant() throws(AccessKeyringError) -> KeyGrant {
            switch kind ?? "service" {
            case "service":
                guard actor == nil, role == nil, projects == nil else {
                    throw AccessKeyringError(
                        "key \(id): actor, role and projects belong to operator keys (add \"kind\": \"operator\")"
                    )
                }
                return .service
            case "operator":
                guard let actor, (1...128).contains(actor.utf8.count),
                    actor.utf8.allSatisfy(ProjectPatterns.idByte)
                else {
                    throw AccessKeyringError(
                        "key \(id): an operator key needs \"actor\" (1–128 characters from A–Z a–z 0–9 . _ ~ -)"
                    )
                }
                guard let name = role, let role = Role(rawValue: name) else {
                    throw AccessKeyringError(
                        "key \(id): \"role\" must be viewer, operator or admin, got \(self.role.map { "\"\($0)\"" } ?? "nothing")"
                    )
                }
                guard caller == nil else {
                    throw AccessKeyringError(
                        "key \(id): an operator key is its actor; \"caller\" is for service keys"
                    )
                }
                var patterns: ProjectPatterns?
                if let projects {
                    do {
                        patterns = try ProjectPatterns(projects)
                    } catch {
                        throw AccessKeyringError("key \(id): \(error.message)")
                    }
                }
                return .operator(actor: actor, role: role, projects: patterns)
            case let other:
                throw AccessKeyringError("key \(id): \"kind\" must be service or operator, got \"\(other)\"")
            }
        }
    }

    var keys: [Entry]
}
