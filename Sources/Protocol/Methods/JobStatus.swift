/// `job.status`: where a job stands, also one started on an earlier connection or before a
/// restart of the agent.
public enum JobStatus: RPCMethod {
    public static let name = "job.status"

    public struct Params: Codable, Hashable, Sendable {
        public var jobID: String
        public init(jobID: String) { self.jobID = jobID }
    }

    public struct Result: Codable, Hashable, Sendable {
        public var jobID: String
        public var projectID: String
        public var state: JobState
        public var phase: SyncPhase
        public var percent: Int
        /// Present once the job succeeded.
        public var result: WorkdirSync.Result?
        /// Present once the job failed, was cancelled or was interrupted.
        public var error: JobFailure?

        public init(
            jobID: String,
            projectID: String,
            state: JobState,
            phase: SyncPhase,
            percent: Int,
            result: WorkdirSync.Result? = nil,
            error: JobFailure? = nil
        ) {
            self.jobID = jobID
            self.projectID = projectID
            self.state = state
            self.phase = phase
            self.percent = percent
            self.result = result
            self.error = error
        }
    }
}

/// A job's error as stored and reported by `job.status`.
public struct JobFailure: Codable, Hashable, Sendable {
    /// An `RPCErrorCode` name.
    public var name: String
    public var message: String
    public var retryable: Bool
    public var details: [String: String]

    public init(_ error: RPCError) {
        name = error.code.name
        message = error.message
        retryable = error.isRetryable
        details = error.details
    }
}
