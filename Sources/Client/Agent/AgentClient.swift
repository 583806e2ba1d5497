public import Logging
public import RollbackProtocol
public import RollbackTransport

/// The calling side of the agent protocol (`spec/protocol.md`) for Swift tools: connects to an
/// agent's Unix socket, signs every request, and speaks its methods with typed results. The
/// broker's dispatcher and `rollbackctl agent` both use it.
///
/// ```swift
/// let agent = AgentClient(endpoint: try AgentEndpoint(
///     socketPath: "/run/rollback/agent.sock", agentID: "build-1", keyringFile: "agent-keyring.json"))
/// for try await update in agent.sync(params) {
///     switch update {
///     case .progress(let progress): print("\(progress.percent)% \(progress.phase)")
///     case .finished(let result): print("commit \(result.commitID ?? "-")")
///     }
/// }
/// ```
///
/// Errors are the agent's `RPCError` (with its stable name and retryable
/// flag) or a `TransportError` when the socket cannot be reached or the
/// connection breaks. A job outlives the connection that started it: after a break, ask
/// ``status(jobID:)`` or send the same params again to attach to it.
public struct AgentClient: Sendable {
    public let endpoint: AgentEndpoint
    public var logger: Logger

    public init(endpoint: AgentEndpoint, logger: Logger = Logger(label: "rollback.agent-client")) {
        self.endpoint = endpoint
        self.logger = logger
    }

    /// Runs `body` with one connection (several calls, one socket), then closes it.
    public func withSession<Result: Sendable>(
        _ body: (AgentSession) async throws -> Result
    ) async throws -> Result {
        try await RPCConnection.withConnection(
            socketPath: endpoint.socketPath,
            signer: endpoint.signer,
            logger: logger
        ) { connection in
            try await body(AgentSession(connection: connection))
        }
    }

    /// `agent.health`.
    public func health() async throws -> AgentHealth.Result {
        try await withSession { try await $0.health() }
    }

    /// `job.status`: where a job stands, also one started on another connection or before a
    /// restart of the agent.
    public func status(jobID: String) async throws -> JobStatus.Result {
        try await withSession { try await $0.status(jobID: jobID) }
    }

    /// `job.cancel`: stops a job before its swap; after it, the job finishes.
    public func cancel(jobID: String, reason: String? = nil) async throws -> JobCancel.Result {
        try await withSession { try await $0.cancel(jobID: jobID, reason: reason) }
    }

    /// `workdir.sync`, as a sequence: progress updates, then the result as the last element.
    /// Cancelling the consuming task sends a signed cancel to the agent.
    public func sync(
        _ params: WorkdirSync.Params,
        trace: TraceContext = .random()
    ) -> AsyncThrowingStream<AgentSyncUpdate, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: AgentSyncUpdate.self)
        let task = Task {
            do {
                let result = try await withSession { session in
                    try await session.sync(params, trace: trace) { continuation.yield(.progress($0)) }
                }
                continuation.yield(.finished(result))
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}

/// One element of ``AgentClient/sync(_:trace:)``.
public enum AgentSyncUpdate: Sendable, Hashable {
    case progress(JobProgress.Params)
    /// The last element: the sync succeeded.
    case finished(WorkdirSync.Result)
}

/// Calls on one open connection to an agent (see ``AgentClient/withSession(_:)``).
public struct AgentSession: Sendable {
    let connection: RPCConnection

    public func health() async throws -> AgentHealth.Result {
        try await connection.call(AgentHealth.self, EmptyParams())
    }

    public func status(jobID: String) async throws -> JobStatus.Result {
        try await connection.call(JobStatus.self, JobStatus.Params(jobID: jobID))
    }

    public func cancel(jobID: String, reason: String? = nil) async throws -> JobCancel.Result {
        try await connection.call(JobCancel.self, JobCancel.Params(jobID: jobID, reason: reason))
    }

    /// `workdir.sync`, waiting for the result; `progress` gets each `job.progress` notification.
    ///
    /// - Parameters:
    ///   - params: what to sync (see `spec/protocol.md`, `workdir.sync`).
    ///   - trace: the caller's span, so the agent's spans join its trace.
    ///   - onCancellation: `.cancelRequest` asks the agent to cancel the job when the calling
    ///     task is cancelled; `.abandon` only stops waiting and leaves the job running (the
    ///     dispatcher does this when it stops: another dispatcher picks the job up).
    ///   - progress: called with each `job.progress` notification, in order.
    public func sync(
        _ params: WorkdirSync.Params,
        trace: TraceContext? = nil,
        onCancellation: RPCConnection.CancellationBehavior = .cancelRequest,
        progress: @escaping @Sendable (JobProgress.Params) -> Void = { _ in }
    ) async throws -> WorkdirSync.Result {
        try await connection.call(
            WorkdirSync.self,
            params,
            trace: trace,
            onCancellation: onCancellation,
            progress: progress
        )
    }
}
