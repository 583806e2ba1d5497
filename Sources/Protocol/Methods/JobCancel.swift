/// `job.cancel`: a signed request to cancel a job, from any connection. Before the swap the job
/// stops and leaves everything untouched; after it the job finishes and its result says
/// `cancelIgnored`. The `workdir.sync` request that started the job still gets exactly one
/// final response: `cancelled`, or its result.
public enum JobCancel: RPCMethod {
    public static let name = "job.cancel"

    public struct Params: Codable, Hashable, Sendable {
        public var jobID: String
        public var reason: String?
        public init(jobID: String, reason: String? = nil) {
            self.jobID = jobID
            self.reason = reason
        }
    }

    public struct Result: Codable, Hashable, Sendable {
        public var jobID: String
        /// True when the job will stop without changing anything.
        public var willStop: Bool
        public var state: JobState
        public init(jobID: String, willStop: Bool, state: JobState) {
            self.jobID = jobID
            self.willStop = willStop
            self.state = state
        }
    }
}

/// `$/cancelRequest`: a signed notification cancelling an in-flight request on the same
/// connection (as in LSP). The request still gets exactly one final response, usually a
/// `cancelled` error.
public enum CancelRequest: RPCNotificationMethod {
    public static let name = "$/cancelRequest"

    public struct Params: Codable, Hashable, Sendable {
        public var id: RequestID
        public init(id: RequestID) { self.id = id }
    }
}
