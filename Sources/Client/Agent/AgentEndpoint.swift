public import RollbackProtocol
import RollbackRuntime

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

    /// Reads the keyring from a JSON file (see `spec/protocol.md`, "Keyrings"), refused when
    /// group or others can read it, as every reader of keyring files does.
    public init(socketPath: String, agentID: String, keyringFile: String) throws {
        self.init(socketPath: socketPath, agentID: agentID, keyring: try KeyringFile.load(keyringFile))
    }

    public var signer: RequestSigner { RequestSigner(agentID: agentID, keyring: keyring) }
}
