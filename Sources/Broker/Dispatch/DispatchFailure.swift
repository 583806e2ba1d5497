import RollbackProtocol
import RollbackTransport

/// Why a sync attempt did not succeed, in the terms the outcome needs: a stable code for the
/// event and metrics, a message for people, and whether another attempt may succeed.
struct DispatchFailure: Error, Sendable, CustomStringConvertible {
    var code: String
    var message: String
    var retryable: Bool

    var description: String { "\(code): \(message)" }

    /// The agent's own answer: its code name and retryable flag are kept as they are.
    init(_ error: RPCError) {
        code = error.code.name
        message = error.message
        retryable = error.isRetryable
    }

    init(_ failure: JobFailure) {
        code = failure.name
        message = failure.message
        retryable = failure.retryable
    }

    init(code: String, message: String, retryable: Bool) {
        self.code = code
        self.message = message
        self.retryable = retryable
    }

    /// The socket could not be reached or the connection broke: the agent may be restarting.
    static func agentUnreachable(_ error: any Error, socket: String) -> DispatchFailure {
        DispatchFailure(
            code: "agent_unreachable",
            message: "cannot talk to the agent at \(socket): \(error)",
            retryable: true
        )
    }
}
