import Foundation

/// A helper server from `Tests/Fixtures/fixtures.py` (artifacts over HTTP, a flaky proxy, ...),
/// started on a free loopback port and killed by `stop()`.
public final class FixtureServer: @unchecked Sendable {
    // @unchecked: `process` is set once and only read afterwards.
    public let port: Int
    private let process: Process

    private init(port: Int, process: Process) {
        self.port = port
        self.process = process
    }

    /// Starts `fixtures.py <command> <arguments…> <portfile>` and waits (polling, without
    /// blocking a thread) until it listens; its output goes to `log`.
    public static func start(
        _ command: String,
        _ arguments: [String],
        portFile: String,
        log: String
    ) async throws -> FixtureServer {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Shell.fixtures, command] + arguments + [portFile]
        if !FileManager.default.fileExists(atPath: log) {
            _ = FileManager.default.createFile(atPath: log, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        try await waitUntil("fixtures.py \(command) to listen") {
            guard process.isRunning else {
                throw Shell.Failure(
                    command: "fixtures.py \(command)",
                    status: -1,
                    output: "exited before listening"
                )
            }
            return FileManager.default.fileExists(atPath: portFile)
        }
        return FixtureServer(
            port: Int(try String(contentsOfFile: portFile, encoding: .utf8)) ?? 0,
            process: process
        )
    }

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    public func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
