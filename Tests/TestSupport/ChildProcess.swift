public import Foundation

/// The one way the tests start a program: the package's daemons and `rollbackctl`, helper
/// servers (`fixtures.py`, `redis-server`) and short tools (`git`, `zip`). Output goes to files
/// or nowhere, never to a pipe the test does not drain: a full pipe would block the child, and
/// a pipe inherited by a leftover process would hold the test runner's output open.
///
/// Waiting polls with a deadline (`eventually`) instead of blocking a thread, since the broker
/// under test may share this process's few threads. `kill()` is synchronous so that `defer`
/// and `shutdown()` can use it; every owner calls it, so no test leaves a process running.
public final class ChildProcess: @unchecked Sendable {
    // @unchecked: `Process` is not Sendable; each child is owned by the one test that made it.

    /// Where a stream of the child goes.
    public enum Output: Sendable {
        /// `/dev/null`.
        case discard
        /// Appended to a file (created when missing); both streams may name the same file.
        case file(String)
    }

    /// How the child is named in failures (`rollback-agent`, `fixtures.py serve`).
    public let name: String
    private let process: Process
    private let outputPaths: [String]

    /// A program built by this package, beside the test bundle (`rollback-agent`, `rollbackctl`).
    public static func packageProgram(_ program: String) -> String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent(program).path
    }

    /// Starts `executable` (a path, or a name looked up in `PATH` when it has no slash) with the
    /// test runner's environment overlaid by `environment`.
    public init(
        _ executable: String,
        _ arguments: [String] = [],
        environment: [String: String] = [:],
        directory: String? = nil,
        stdout: Output = .discard,
        stderr: Output = .discard,
        name: String? = nil
    ) throws {
        let process = Process()
        if executable.contains("/") {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [executable] + arguments
        }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        var handles: [String: FileHandle] = [:]
        func handle(_ output: Output) throws -> FileHandle {
            guard case .file(let path) = output else { return FileHandle.nullDevice }
            if let open = handles[path] { return open }
            if !FileManager.default.fileExists(atPath: path) {
                _ = FileManager.default.createFile(atPath: path, contents: nil)
            }
            let opened = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            opened.seekToEndOfFile()
            handles[path] = opened
            return opened
        }
        process.standardOutput = try handle(stdout)
        process.standardError = try handle(stderr)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // The child holds its own descriptors now; ours would only leak.
        for opened in handles.values { try? opened.close() }
        self.process = process
        self.outputPaths = Array(handles.keys).sorted()
        self.name = name ?? (executable as NSString).lastPathComponent
    }

    public var isRunning: Bool { process.isRunning }
    public var pid: Int32 { process.processIdentifier }
    /// The exit status, or the signal's number when `terminationReason` is `.uncaughtSignal`.
    public var terminationStatus: Int32 { process.terminationStatus }
    public var terminationReason: Process.TerminationReason { process.terminationReason }

    /// What the child wrote to its output files so far.
    public var output: String {
        outputPaths.map { (try? String(contentsOfFile: $0, encoding: .utf8)) ?? "" }.joined()
    }

    /// Sends `number` to the child, if it still runs.
    public func signal(_ number: Int32) {
        if process.isRunning { Foundation.kill(process.processIdentifier, number) }
    }

    /// Waits (polling) for the child to exit by itself and returns its status.
    @discardableResult
    public func waitForExit(timeout: Duration = .seconds(30)) async throws -> Int32 {
        try await waitUntil(timeout: timeout, "\(name) to exit") { !self.process.isRunning }
        return process.terminationStatus
    }

    /// Sends `number` (SIGTERM: a graceful stop) and waits for the exit.
    @discardableResult
    public func stop(signal number: Int32 = SIGTERM, timeout: Duration = .seconds(30)) async throws -> Int32 {
        signal(number)
        return try await waitForExit(timeout: timeout)
    }

    /// SIGKILL and wait: for crashes, `defer` and clean-up. SIGKILL because the test runner may
    /// ignore SIGTERM, which children inherit.
    public func kill() {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// What a program that ran to the end left behind.
    public struct Finished: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    /// Runs a program to the end (killed after `timeout`) and collects its status and output.
    public static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String] = [:],
        directory: String? = nil,
        timeout: Duration = .seconds(60)
    ) async throws -> Finished {
        let scratch = TemporaryFiles.directory(prefix: "rbk-run")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let (out, err) = ("\(scratch)/stdout", "\(scratch)/stderr")
        let child = try ChildProcess(
            executable,
            arguments,
            environment: environment,
            directory: directory,
            stdout: .file(out),
            stderr: .file(err)
        )
        guard try await eventually(timeout: timeout, { !child.isRunning }) else {
            child.kill()
            throw Shell.Failure(
                command: ([child.name] + arguments).joined(separator: " "),
                status: -1,
                output: "did not finish within \(timeout)"
            )
        }
        return Finished(
            status: child.terminationStatus,
            stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
        )
    }

    /// Blocks until the child exits: only for quick tools (`git`, `zip`) run from synchronous
    /// helpers, never for a daemon.
    @discardableResult
    public func waitBlocking() -> Int32 {
        process.waitUntilExit()
        return process.terminationStatus
    }
}
