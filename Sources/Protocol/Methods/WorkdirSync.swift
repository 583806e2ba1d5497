/// `workdir.sync`: put an artifact's files into a project's working directory and record that in
/// git. Long-running: the agent sends `job.progress` notifications tied to this request's id and
/// then exactly one final response.
public enum WorkdirSync: RPCMethod {
    public static let name = "workdir.sync"

    public struct Artifact: Codable, Hashable, Sendable {
        /// `http`, `https` or `file` URL of the ZIP.
        public var url: String
        /// Expected SHA-256 of the ZIP, 64 lower-case hex digits.
        public var sha256: String
        /// Expected size of the ZIP in bytes.
        public var sizeBytes: Int64

        public init(url: String, sha256: String, sizeBytes: Int64) {
            self.url = url
            self.sha256 = sha256
            self.sizeBytes = sizeBytes
        }
    }

    public struct Params: Codable, Hashable, Sendable {
        public var jobID: String
        /// Becomes the directory name under the agent's root; see `Identifiers.isValidProjectID`.
        public var projectID: String
        public var rollbackVersionID: String
        public var targetVersionID: String
        public var artifact: Artifact
        /// Fencing token: the agent refuses an epoch lower than the highest it saw for the project.
        public var epoch: Int64
        /// Compute the file-level diff; change nothing (see `spec/protocol.md`).
        public var dryRun: Bool
        /// On a dry run, the most paths `diff` lists per kind (the counts in `files` are always
        /// complete); nil lists every path.
        public var diffLimit: Int?
        /// A selective sync: only the paths these patterns select (`PathSelection`) are taken
        /// from the artifact (and removed where it lacks them); everything else in the working
        /// directory stays as it is. Nil: the whole tree.
        public var only: [String]?

        public init(
            jobID: String,
            projectID: String,
            rollbackVersionID: String,
            targetVersionID: String,
            artifact: Artifact,
            epoch: Int64,
            dryRun: Bool = false,
            diffLimit: Int? = nil,
            only: [String]? = nil
        ) {
            self.jobID = jobID
            self.projectID = projectID
            self.rollbackVersionID = rollbackVersionID
            self.targetVersionID = targetVersionID
            self.artifact = artifact
            self.epoch = epoch
            self.dryRun = dryRun
            self.diffLimit = diffLimit
            self.only = only
        }

        /// Checks the params' shapes; the first problem found, naming the field.
        public func validate() throws(RPCError) {
            func bad(_ field: String, _ rule: String) -> RPCError {
                RPCError(.invalidParams, "\(field) \(rule)", details: ["field": field])
            }
            let checks: [(String, String?)] = [
                ("jobID", WireRules.id(jobID)),
                ("projectID", WireRules.projectID(projectID)),
                ("rollbackVersionID", WireRules.id(rollbackVersionID)),
                ("targetVersionID", WireRules.id(targetVersionID)),
                ("artifact.url", WireRules.artifactURL(artifact.url)),
                ("artifact.sha256", WireRules.sha256(artifact.sha256)),
                ("artifact.sizeBytes", WireRules.size(artifact.sizeBytes)),
            ]
            for case (let field, let rule?) in checks { throw bad(field, rule) }
            guard epoch >= 0 else { throw bad("epoch", "must not be negative") }
            if let diffLimit, diffLimit < 0 { throw bad("diffLimit", "must not be negative") }
            if let only, let rule = PathSelection.check(only) { throw bad("only", rule) }
        }
    }

    public struct FileCounts: Codable, Hashable, Sendable {
        public var added: Int
        public var changed: Int
        public var removed: Int
        public var unchanged: Int

        public init(added: Int, changed: Int, removed: Int, unchanged: Int) {
            self.added = added
            self.changed = changed
            self.removed = removed
            self.unchanged = unchanged
        }
    }

    public struct Result: Codable, Hashable, Sendable {
        public var jobID: String
        public var state: JobState
        /// The git commit recording the new tree (absent on a dry run).
        public var commitID: String?
        /// `rollback/<rollbackVersionID>` (absent on a dry run).
        public var tag: String?
        public var files: FileCounts
        public var bytesWritten: Int64
        /// Milliseconds spent in each phase, keyed by `SyncPhase` raw value.
        public var phaseMilliseconds: [String: Int64]
        /// True when a cancel arrived after the swap, too late to stop the job.
        public var cancelIgnored: Bool
        /// On a dry run: the paths that would be added, changed and removed (at most `diffLimit`
        /// of each, sorted).
        public var diff: [String: [String]]?
        /// Whether the artifact was already in the agent's cache when the job started (a sync
        /// then downloads nothing).
        public var artifactCached: Bool?

        public init(
            jobID: String,
            state: JobState,
            commitID: String?,
            tag: String?,
            files: FileCounts,
            bytesWritten: Int64,
            phaseMilliseconds: [String: Int64],
            cancelIgnored: Bool = false,
            diff: [String: [String]]? = nil,
            artifactCached: Bool? = nil
        ) {
            self.jobID = jobID
            self.state = state
            self.commitID = commitID
            self.tag = tag
            self.files = files
            self.bytesWritten = bytesWritten
            self.phaseMilliseconds = phaseMilliseconds
            self.cancelIgnored = cancelIgnored
            self.diff = diff
            self.artifactCached = artifactCached
        }
    }
}
