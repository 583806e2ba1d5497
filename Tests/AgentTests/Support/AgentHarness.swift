import Crypto
import Foundation
import RollbackProtocol
import RollbackTransport

/// A real `rollback-agent` process with its own work root, state directory, keyring and socket
/// under a fresh temporary directory. Stopped and removed by `shutdown()`.
final class AgentHarness: @unchecked Sendable {
    // @unchecked: `process` is only touched by the one test that owns the harness.
    static let agentID = "test-agent"
    static let keyring = try! Keyring(keys: [
        try! SigningKey(id: "k1", secret: Array("agent-tests-secret-0123456789abcdef".utf8))
    ])
    static let signer = RequestSigner(agentID: agentID, keyring: keyring)

    let directory: String
    var workRoot: String { "\(directory)/work" }
    var stateDirectory: String { "\(directory)/state" }
    var socketPath: String { "\(directory)/agent.sock" }
    var keyringPath: String { "\(directory)/keyring.json" }
    var artifacts: String { "\(directory)/artifacts" }
    private var process: ChildProcess?
    private var helpers: [FixtureServer] = []

    /// The `rollback-agent` built beside the test bundle.
    static var executable: String { ChildProcess.packageProgram("rollback-agent") }

    init() throws {
        directory = TemporaryFiles.directory(prefix: "rbk-agent")
        for path in [workRoot, artifacts] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        TemporaryFiles.writeKeyring(
            at: keyringPath,
            keyID: "k1",
            secret: "agent-tests-secret-0123456789abcdef"
        )
    }

    /// Starts the agent and waits until it answers `agent.health`.
    func start(_ extra: [String] = [], environment: [String: String] = [:]) async throws {
        let logFile = "\(directory)/agent.log"
        let process = try ChildProcess(
            Self.executable,
            [
                "--socket", socketPath, "--agent-id", Self.agentID, "--keyring", keyringPath,
                "--work-root", workRoot, "--state-dir", stateDirectory, "--log-level", "debug",
                "--set", "downloadStallSeconds=2",
            ] + extra,
            environment: environment,
            stdout: .file(logFile),
            stderr: .file(logFile)
        )
        self.process = process
        try await waitUntil("the agent to answer") {
            guard process.isRunning else {
                throw Shell.Failure(
                    command: "rollback-agent",
                    status: process.terminationStatus,
                    output: readLog()
                )
            }
            return (try? await call(AgentHealth.self, EmptyParams())) != nil
        }
    }

    func readLog() -> String {
        (try? String(contentsOfFile: "\(directory)/agent.log", encoding: .utf8)) ?? ""
    }

    /// Sends SIGTERM (or SIGKILL) and waits for the process to end.
    func stop(signal number: Int32 = SIGTERM) async throws {
        guard let process, process.isRunning else { return }
        try await process.stop(signal: number)
        self.process = nil
    }

    /// The agent's pid, while it runs.
    var pid: Int32? { process.flatMap { $0.isRunning ? $0.pid : nil } }

    /// Waits for the agent to exit by itself (a crash point, say) and returns its status.
    func waitForExit() async throws -> Process.TerminationReason? {
        guard let process else { return nil }
        try await process.waitForExit(timeout: .seconds(60))
        self.process = nil
        lastExitStatus = process.terminationStatus
        return process.terminationReason
    }

    /// Exit status of the last process that `waitForExit` saw end.
    private(set) var lastExitStatus: Int32?

    func shutdown() {
        process?.kill()
        for helper in helpers { helper.stop() }
        try? FileManager.default.removeItem(atPath: directory)
    }

    func call<Method: RPCMethod>(
        _ method: Method.Type,
        _ params: Method.Params,
        signer: RequestSigner = AgentHarness.signer,
        progress: RPCConnection.ProgressHandler? = nil
    ) async throws -> Method.Result {
        try await RPCConnection.withConnection(socketPath: socketPath, signer: signer) {
            try await $0.call(method, params, progress: progress)
        }
    }

    // MARK: Fixtures

    /// A working directory with a git history of one commit holding `files`.
    @discardableResult
    func makeProject(_ projectID: String, files: [String: String]) throws -> String {
        let path = "\(workRoot)/\(projectID)"
        try write(files, into: path)
        try Shell.git("init", "-q", "-b", "main", in: path)
        try Shell.git("add", "-A", in: path)
        try Shell.git("commit", "-q", "-m", "initial build", in: path)
        return path
    }

    func write(_ files: [String: String], into root: String) throws {
        for (relative, content) in files {
            let path = "\(root)/\(relative)"
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true
            )
            try Data(content.utf8).write(to: URL(fileURLWithPath: path))
        }
    }

    /// A ZIP of `files` made with the `zip` CLI; returns its artifact description (file URL).
    func makeArtifact(
        _ name: String,
        files: [String: String],
        executable: [String] = []
    ) throws -> WorkdirSync.Artifact {
        let source = "\(directory)/src-\(name)"
        try write(files, into: source)
        for path in executable { chmod("\(source)/\(path)", 0o755) }
        let zip = "\(artifacts)/\(name).zip"
        try Shell.run(["zip", "-q", "-r", "-X", zip, "."], in: source)
        return try artifact(at: zip)
    }

    /// A hostile archive made by `Tests/Fixtures/fixtures.py`.
    func makeHostileArtifact(_ kind: String) throws -> WorkdirSync.Artifact {
        let zip = "\(artifacts)/\(kind).zip"
        try Shell.run(["python3", Shell.fixtures, "hostile", kind, zip])
        return try artifact(at: zip)
    }

    func artifact(at path: String) throws -> WorkdirSync.Artifact {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return WorkdirSync.Artifact(
            url: "file://\(path)",
            sha256: SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined(),
            sizeBytes: Int64(data.count)
        )
    }

    /// Serves the artifacts directory over HTTP on loopback; returns the base URL.
    func startHTTPServer() async throws -> String {
        try await startHelper(["serve", artifacts])
    }

    /// Serves the artifacts directory, but sends only half of `<name>` while `<name>.hold`
    /// exists beside it (and leaves `<name>.requested` when asked for it); returns the base URL.
    func startHeldServer() async throws -> String {
        try await startHelper(["serve-held", artifacts])
    }

    /// An HTTP server that sends headers and ten bytes, then stalls.
    func startStallingServer() async throws -> String {
        try await startHelper(["stall"])
    }

    private func startHelper(_ arguments: [String]) async throws -> String {
        let helper = try await FixtureServer.start(
            arguments[0],
            Array(arguments.dropFirst()),
            portFile: "\(directory)/port-\(helpers.count)",
            log: "\(directory)/helpers.log"
        )
        helpers.append(helper)
        return helper.baseURL
    }

    func syncParams(
        job: String,
        project: String,
        artifact: WorkdirSync.Artifact,
        epoch: Int64 = 1,
        rollbackVersion: String = "v9",
        dryRun: Bool = false
    ) -> WorkdirSync.Params {
        WorkdirSync.Params(
            jobID: job,
            projectID: project,
            rollbackVersionID: rollbackVersion,
            targetVersionID: "v3",
            artifact: artifact,
            epoch: epoch,
            dryRun: dryRun
        )
    }
}
