/// What `--version` prints and `agent.hello` / `/metrics` report: the release and the git commit
/// the binary was built from (written by the `GitCommit` build plugin).
public enum BuildInfo {
    public static let version = "0.2.0"
    /// Short commit id, `unknown` when built outside a git checkout.
    public static let commit = gitCommit

    /// `0.2.0 (commit 1a2b3c4)`, for `CommandConfiguration(version:)`.
    public static var versionLine: String { "\(version) (commit \(commit))" }
}
