import Foundation

/// Runs command-line tools (git, zip, python3) for the tests and returns their output. Shared by
/// the agent and the integration tests.
public enum Shell {
    public struct Failure: Error, CustomStringConvertible {
        public let command: String
        public let status: Int32
        public let output: String

        public init(command: String, status: Int32, output: String) {
            self.command = command
            self.status = status
            self.output = output
        }

        public var description: String { "`\(command)` exited \(status): \(output)" }
    }

    /// Runs a quick tool to the end; its output (stdout and stderr, interleaved) is returned,
    /// or thrown with the status when it fails.
    @discardableResult
    public static func run(
        _ arguments: [String],
        in directory: String? = nil,
        environment: [String: String] = [:]
    ) throws -> String {
        let scratch = TemporaryFiles.directory(prefix: "rbk-shell")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let log = "\(scratch)/output"
        let child = try ChildProcess(
            arguments[0],
            Array(arguments.dropFirst()),
            environment: environment,
            directory: directory,
            stdout: .file(log),
            stderr: .file(log)
        )
        let status = child.waitBlocking()
        let output = child.output
        guard status == 0 else {
            throw Failure(command: arguments.joined(separator: " "), status: status, output: output)
        }
        return output
    }

    @discardableResult
    public static func git(_ arguments: String..., in directory: String) throws -> String {
        try run(
            ["git", "-c", "safe.directory=*"] + arguments,
            in: directory,
            environment: [
                "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
                "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
            ]
        )
    }

    /// `Tests/Fixtures/fixtures.py`.
    public static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/fixtures.py").path
}

/// The one polling helper: checks `condition` every 20 ms until it holds or `timeout` passes
/// (never a fixed sleep); returns whether it held.
public func eventually(
    timeout: Duration = .seconds(10),
    _ condition: () async throws -> Bool
) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

/// `eventually`, throwing a failure that names `what` when the time runs out.
public func waitUntil(
    timeout: Duration = .seconds(20),
    _ what: String,
    _ condition: () async throws -> Bool
) async throws {
    guard try await eventually(timeout: timeout, condition) else {
        throw Shell.Failure(command: "wait for \(what)", status: -1, output: "timed out after \(timeout)")
    }
}
