public import RollbackArchive

/// What a sync needs from the agent's configuration.
public struct SyncSettings: Sendable {
    /// Directory holding one working directory per project (`<root>/<projectID>`).
    public var workRoot: String
    public var archiveLimits: ArchiveLimits
    /// Largest artifact accepted, in bytes.
    public var maxArtifactBytes: Int64
    public var gitAuthorName: String
    public var gitAuthorEmail: String

    public init(
        workRoot: String,
        archiveLimits: ArchiveLimits = ArchiveLimits(),
        maxArtifactBytes: Int64 = 2 << 30,
        gitAuthorName: String = "Rollback Agent",
        gitAuthorEmail: String = "rollback-agent@localhost"
    ) {
        self.workRoot = workRoot
        self.archiveLimits = archiveLimits
        self.maxArtifactBytes = maxArtifactBytes
        self.gitAuthorName = gitAuthorName
        self.gitAuthorEmail = gitAuthorEmail
    }

    var stagingRoot: String { "\(workRoot)/.rollback-staging" }

    func workingDirectory(_ projectID: String) -> String { "\(workRoot)/\(projectID)" }

    func staging(projectID: String, jobID: String) -> String { "\(stagingRoot)/\(projectID).\(jobID)" }

    /// The old files an in-place sync replaced or removed, until its commit.
    func backup(projectID: String, jobID: String) -> String { "\(stagingRoot)/\(projectID).\(jobID).backup" }

    /// New git objects of a sync, kept outside the project's `.git` until the swap.
    func objectStore(projectID: String, jobID: String) -> String {
        "\(stagingRoot)/\(projectID).\(jobID).objects"
    }
}
