public import RollbackProtocol
import RollbackTransport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How to reach and sign for one agent: its socket, its id, and a keyring holding a key it
/// accepts. Give it to an ``AgentClient``.
public struct AgentEndpoint: Sendable {
    public var socketPath: String
    public var agentID: String
    public var keyring: Keyring

    public init(socketPath: String, agentID: String, keyring: Keyring) {
        self.socketPath = socketPath
        self.agentID = agentID
        self.keyring = keyring
    }

    /// Reads the keyring from a JSON file (see `spec/protocol.md`, "Keyrings").
    public init(socketPath: String, agentID: String, keyringFile: String) throws {
        guard let data = FileManager.default.contents(atPath: keyringFile) else {
            throw KeyringError.unreadable("cannot read \(keyringFile)")
        }
        self.init(socketPath: socketPath, agentID: agentID, keyring: try Keyring(json: Array(data)))
    }

    public var signer: RequestSigner { RequestSigner(agentID: agentID, keyring: keyring) }
}
