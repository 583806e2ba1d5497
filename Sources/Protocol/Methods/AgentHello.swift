/// `agent.hello`: version negotiation and discovery. The client lists the message-layer versions
/// it speaks; the agent answers with the highest one both speak, its capabilities and limits, or
/// `unsupported_version`.
public enum AgentHello: RPCMethod {
    public static let name = "agent.hello"

    public struct Params: Codable, Hashable, Sendable {
        public var protocolVersions: [Int]
        /// Free text naming the client, for the agent's logs.
        public var client: String

        public init(protocolVersions: [Int] = ProtocolVersion.supported, client: String) {
            self.protocolVersions = protocolVersions
            self.client = client
        }
    }

    public struct Limits: Codable, Hashable, Sendable {
        public var maxBodyBytes: Int
        public var maxInFlightRequests: Int
        public var signatureWindowSeconds: Int64

        public init(maxBodyBytes: Int, maxInFlightRequests: Int, signatureWindowSeconds: Int64) {
            self.maxBodyBytes = maxBodyBytes
            self.maxInFlightRequests = maxInFlightRequests
            self.signatureWindowSeconds = signatureWindowSeconds
        }
    }

    public struct Result: Codable, Hashable, Sendable {
        public var agentID: String
        public var protocolVersion: Int
        public var agentVersion: String
        /// Method names the agent serves, e.g. `workdir.sync`.
        public var capabilities: [String]
        public var limits: Limits

        public init(
            agentID: String,
            protocolVersion: Int,
            agentVersion: String,
            capabilities: [String],
            limits: Limits
        ) {
            self.agentID = agentID
            self.protocolVersion = protocolVersion
            self.agentVersion = agentVersion
            self.capabilities = capabilities
            self.limits = limits
        }
    }
}
