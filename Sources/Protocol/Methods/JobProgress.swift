/// `job.progress`: a notification from the agent, tied to the request that started the job.
/// Sent at most about ten times a second; the first and the last are always sent.
public enum JobProgress: RPCNotificationMethod {
    public static let name = "job.progress"

    public struct Params: Codable, Hashable, Sendable {
        /// The id of the request this progress belongs to.
        public var requestID: RequestID
        public var jobID: String
        /// 0–100, never decreasing within a job.
        public var percent: Int
        public var phase: SyncPhase
        public var bytesDone: Int64
        public var bytesTotal: Int64
        public var message: String?

        public init(
            requestID: RequestID,
            jobID: String,
            percent: Int,
            phase: SyncPhase,
            bytesDone: Int64,
            bytesTotal: Int64,
            message: String? = nil
        ) {
            self.requestID = requestID
            self.jobID = jobID
            self.percent = percent
            self.phase = phase
            self.bytesDone = bytesDone
            self.bytesTotal = bytesTotal
            self.message = message
        }
    }
}
