/// A project's status, as the web tier and the build system see it (`spec/state-machine.md`).
public enum ProjectStatus: String, Codable, Sendable, CaseIterable {
    case queued, building, deployed, failed, canceled, superseded, rollingBack, rollbackFailed

    /// Statuses a rollback may start from: nothing is running on the project.
    public var isSettled: Bool {
        switch self {
        case .deployed, .failed, .canceled, .superseded, .rollbackFailed: true
        case .queued, .building, .rollingBack: false
        }
    }
}

/// A version's status.
public enum VersionStatus: String, Codable, Sendable, CaseIterable {
    /// Built (or rolled back without touching the working directory); can be published.
    case ready
    /// A rollback version whose working-directory sync has not finished.
    case syncing
    /// A rollback version whose sync failed; never published, never a rollback target.
    case failed
    /// A rollback version whose sync was canceled before the swap; like `failed`, never a target.
    case canceled
}

/// A broker job's state in the durable queue (the agent's own `JobState` is per host).
public enum QueueJobState: String, Codable, Sendable, CaseIterable {
    case queued, running, succeeded, failed, canceled

    public var isTerminal: Bool { self == .succeeded || self == .failed || self == .canceled }
}
