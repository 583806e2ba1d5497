import Foundation

/// Fault injection for the crash tests: when `ROLLBACK_AGENT_TEST_CRASH_POINT` names a point,
/// the agent kills itself with SIGKILL there, so the tests can hit windows that a timed kill
/// would almost never hit (between moving `.git` and exchanging the trees, say). Unset in
/// production, where `hit` costs one dictionary lookup per sync.
enum CrashPoints {
    static let variable = "ROLLBACK_AGENT_TEST_CRASH_POINT"
    private static let armed = ProcessInfo.processInfo.environment[variable]

    static func isArmed(_ name: String) -> Bool { armed == name }

    static func hit(_ name: String) {
        if armed == name { kill(getpid(), SIGKILL) }
    }
}
