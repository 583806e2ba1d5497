/// The exit codes every Rollback program uses for the same things.
public enum ExitStatus {
    /// Done, or stopped cleanly (SIGTERM).
    public static let success: Int32 = 0
    /// A runtime failure: a service unreachable at start, an operation that failed.
    public static let failure: Int32 = 1
    /// Bad usage or configuration (argument-parser's own 64 is mapped to this).
    public static let usage: Int32 = 2
}
