import Foundation
public import RollbackRuntime

/// Where the agent of one build host listens and the id it signs as.
public struct AgentAddress: Sendable, Hashable {
    public var host: String
    public var socketPath: String
    public var agentID: String

    public init(host: String, socketPath: String, agentID: String) {
        self.host = host
        self.socketPath = socketPath
        self.agentID = agentID
    }
}

/// The agents a dispatcher serves, by host. Written in configuration as a comma-separated list
/// of `host=socket` (the agent id is then the host name) or `host=agentID@socket`:
/// `build-1=/run/rollback/agent.sock,build-2=agent-b@/srv/b/agent.sock`.
public struct AgentDirectory: Sendable, Hashable {
    public private(set) var byHost: [String: AgentAddress]

    public init(_ addresses: [AgentAddress]) {
        byHost = Dictionary(addresses.map { ($0.host, $0) }, uniquingKeysWith: { _, last in last })
    }

    public init(parsing text: String) throws(ConfigurationError) {
        var addresses: [AgentAddress] = []
        for entry in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) })
        where !entry.isEmpty {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw ConfigurationError(
                    field: "agents",
                    message: "\"\(entry)\" is not host=socket or host=agentID@socket"
                )
            }
            let target = parts[1].split(separator: "@", maxSplits: 1).map(String.init)
            let (agentID, socket) = target.count == 2 ? (target[0], target[1]) : (parts[0], parts[1])
            guard socket.hasPrefix("/") else {
                throw ConfigurationError(
                    field: "agents",
                    message: "socket of \(parts[0]) must be an absolute path"
                )
            }
            addresses.append(AgentAddress(host: parts[0], socketPath: socket, agentID: agentID))
        }
        self.init(addresses)
    }

    public var hosts: [String] { byHost.keys.sorted() }
}
