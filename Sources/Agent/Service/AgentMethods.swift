import RollbackProtocol
import RollbackTransport

/// The protocol's methods, bound to the agent's job manager.
struct AgentMethods: Sendable {
    let configuration: AgentConfiguration
    let jobs: JobManager
    let startedAt: ContinuousClock.Instant

    func registry(maxInFlight: Int) -> MethodRegistry {
        var methods = MethodRegistry()
        let configuration = self.configuration
        let jobs = self.jobs
        let startedAt = self.startedAt
        methods.register(AgentHealth.self) { _, _ in
            let free = FileSystem.freeBytes(configuration.workRoot)
            return AgentHealth.Result(
                status: free >= 0 ? "ok" : "degraded",
                agentVersion: RollbackAgent.version,
                uptimeSeconds: (ContinuousClock.now - startedAt).components.seconds,
                runningJobs: await jobs.runningJobCount,
                diskFreeBytes: free
            )
        }
        methods.register(WorkdirSync.self) { params, context in
            try await jobs.sync(params, trace: context.trace) { update in
                await context.progress(update.notification(requestID: context.id, jobID: params.jobID))
            }
        }
        methods.register(JobStatus.self) { params, _ in try await jobs.status(params.jobID) }
        methods.register(JobCancel.self) { params, context in
            context.logger.info(
                "cancel",
                metadata: ["job.id": "\(params.jobID)", "reason": "\(params.reason ?? "-")"]
            )
            return try await jobs.cancel(params.jobID)
        }
        // Registered last, so that it can list every other method as a capability.
        let capabilities = (methods.methodNames + [AgentHello.name]).sorted()
        methods.register(AgentHello.self) { params, context in
            guard let version = params.protocolVersions.filter(ProtocolVersion.supported.contains).max()
            else {
                throw RPCError(
                    .unsupportedVersion,
                    "this agent speaks protocol versions \(ProtocolVersion.supported); the client offered \(params.protocolVersions)"
                )
            }
            context.logger.info("hello", metadata: ["client": "\(params.client)"])
            return AgentHello.Result(
                agentID: configuration.agentID,
                protocolVersion: version,
                agentVersion: RollbackAgent.version,
                capabilities: capabilities,
                limits: .init(
                    maxBodyBytes: configuration.maxFrameBytes,
                    maxInFlightRequests: maxInFlight,
                    signatureWindowSeconds: RequestVerifier.defaultWindowSeconds
                )
            )
        }
        return methods
    }
}
