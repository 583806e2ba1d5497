import Logging
import RollbackClient
import RollbackProtocol
import RollbackRuntime

/// How an API instance reaches a build host's agent for the calls that need an answer while
/// the request waits: a preview (a dry run) and a cancel. It uses the same `agents` setting and
/// agent keyring as a dispatcher; an instance without an address for the host answers 503
/// `agent_unreachable`, naming the setting.
struct AgentReach: Sendable {
    let directory: AgentDirectory
    let keyring: Keyring?
    let logger: Logger

    /// A client for `host`'s agent, or the error that says why there is none.
    func client(forHost host: String) throws -> AgentClient {
        guard let address = directory.byHost[host], let keyring else {
            throw APIError(
                .serviceUnavailable,
                "agent_unreachable",
                "this API instance has no address for the agent of host \(host): "
                    + "set `agents` (host=socket) and `agentKeyringFile` where it runs",
                details: ["host": host]
            )
        }
        return AgentClient(
            endpoint: AgentEndpoint(
                socketPath: address.socketPath,
                agentID: address.agentID,
                keyring: keyring
            ),
            logger: logger
        )
    }

    /// The error for an agent that could not be asked at all (not running, socket gone).
    static func unreachable(_ host: String, _ error: any Error) -> APIError {
        APIError(
            .serviceUnavailable,
            "agent_unreachable",
            "the agent of host \(host) did not answer: \(error)",
            details: ["host": host]
        )
    }
}
