import Foundation

/// A helper server from `Tests/Fixtures/fixtures.py` (artifacts over HTTP, a flaky proxy, a
/// stalling server, an OTLP collector), started on a free loopback port and killed by `stop()`.
public final class FixtureServer: Sendable {
    public let port: Int
    private let child: ChildProcess

    private init(port: Int, child: ChildProcess) {
        self.port = port
        self.child = child
    }

    /// Starts `fixtures.py <command> <arguments…> <portfile>` and waits (polling, without
    /// blocking a thread) until it listens; its output goes to `log`.
    public static func start(
        _ command: String,
        _ arguments: [String],
        portFile: String,
        log: String
    ) async throws -> FixtureServer {
        let child = try ChildProcess(
            "python3",
            [Shell.fixtures, command] + arguments + [portFile],
            stdout: .file(log),
            stderr: .file(log),
            name: "fixtures.py \(command)"
        )
        try await waitUntil("fixtures.py \(command) to listen") {
            guard child.isRunning else {
                throw Shell.Failure(
                    command: child.name,
                    status: child.terminationStatus,
                    output: child.output
                )
            }
            return FileManager.default.fileExists(atPath: portFile)
        }
        return FixtureServer(
            port: Int(try String(contentsOfFile: portFile, encoding: .utf8)) ?? 0,
            child: child
        )
    }

    /// Starts `fixtures.py silent` in `directory` (port file and log there): a server that has
    /// stopped answering, for deadlines.
    public static func silent(in directory: String) async throws -> FixtureServer {
        try await start("silent", [], portFile: "\(directory)/port", log: "\(directory)/silent.log")
    }

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    public func stop() { child.kill() }
}
