/// `agent.health`: is the agent able to work, and how loaded is it.
public enum AgentHealth: RPCMethod {
    public static let name = "agent.health"
    public typealias Params = EmptyParams

    public struct Result: Codable, Hashable, Sendable {
        /// `ok` or `degraded`.
        public var status: String
        public var agentVersion: String
        public var uptimeSeconds: Int64
        public var runningJobs: Int
        /// Free bytes on the file system of the working-directory root.
        public var diskFreeBytes: Int64

        public init(
            status: String,
            agentVersion: String,
            uptimeSeconds: Int64,
            runningJobs: Int,
            diskFreeBytes: Int64
        ) {
            self.status = status
            self.agentVersion = agentVersion
            self.uptimeSeconds = uptimeSeconds
            self.runningJobs = runningJobs
            self.diskFreeBytes = diskFreeBytes
        }
    }
}
