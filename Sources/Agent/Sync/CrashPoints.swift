import Foundation

/// Fault injection for the crash and race tests, unset in production (where each point costs
/// one comparison per sync):
///
/// - `ROLLBACK_AGENT_TEST_CRASH_POINT` names a point where the agent kills itself with SIGKILL,
///   so the tests can hit windows that a timed kill would almost never hit (between moving
///   `.git` and exchanging the trees, say).
/// - `ROLLBACK_AGENT_TEST_PAUSE_POINT` names a point where a sync stops until the test lets it
///   go: it creates `<ROLLBACK_AGENT_TEST_PAUSE_DIR>/<point>.reached` and waits for
///   `<point>.release` there. The cancel tests use it at the point of no return.
enum CrashPoints {
    static let variable = "ROLLBACK_AGENT_TEST_CRASH_POINT"
    static let pauseVariable = "ROLLBACK_AGENT_TEST_PAUSE_POINT"
    static let pauseDirectoryVariable = "ROLLBACK_AGENT_TEST_PAUSE_DIR"
    private static let armed = ProcessInfo.processInfo.environment[variable]
    private static let pausing = ProcessInfo.processInfo.environment[pauseVariable]
    private static let pauseDirectory = ProcessInfo.processInfo.environment[pauseDirectoryVariable]

    static func isArmed(_ name: String) -> Bool { armed == name }

    static func hit(_ name: String) {
        if armed == name { kill(getpid(), SIGKILL) }
    }

    /// Waits at `name` until the test releases it or the job is cancelled (only when that
    /// point is armed).
    static func pause(_ name: String) async {
        guard pausing == name, let directory = pauseDirectory else { return }
        _ = FileSystem.createMarker("\(directory)/\(name).reached")
        while !FileSystem.exists("\(directory)/\(name).release") && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(5))
        }
    }
}
