import Crypto
import Foundation
import RollbackBroker
import RollbackProtocol
import RollbackTransport
import TestSupport

/// One build host for the dispatcher tests: a real `rollback-agent` process on a real Unix
/// socket, its work root, and an HTTP server (Python) that serves the host's artifacts and can
/// hold a download half-way (`hold`) so a test can act while a sync is under way.
final class AgentHost: @unchecked Sendable {
    // @unchecked: the processes are only touched by the one test that owns the host.
    static let secret = "dispatch-tests-agent-secret-0123456789"
    static let keyring = try! Keyring(keys: [try! SigningKey(id: "a1", secret: Array(secret.utf8))])

    let name: String
    let directory: String
    var socketPath: String { "\(directory)/agent.sock" }
    var workRoot: String { "\(directory)/work" }
    var artifacts: String { "\(directory)/artifacts" }
    var keyringPath: String { "\(directory)/agent-keyring.json" }
    private var agent: ChildProcess?
    private var server: FixtureServer?
    private(set) var baseURL = ""

    /// The broker's view of this host: `name=socket`, agent id = host name.
    var address: AgentAddress { AgentAddress(host: name, socketPath: socketPath, agentID: name) }

    init(name: String = "host-\(UInt32.random(in: 0...UInt32.max))") async throws {
        self.name = name
        directory = TemporaryFiles.directory(prefix: "rbk-host")
        for path in [workRoot, artifacts] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        TemporaryFiles.writeKeyring(at: keyringPath, keyID: "a1", secret: Self.secret)
        try await startArtifactServer()
    }

    /// Starts the agent and waits until it answers `agent.health`.
    func start(extraArguments: [String] = [], environment: [String: String] = [:]) async throws {
        let log = "\(directory)/agent.log"
        let process = try ChildProcess(
            ChildProcess.packageProgram("rollback-agent"),
            [
                "--socket", socketPath, "--agent-id", name, "--keyring", keyringPath, "--work-root", workRoot,
                "--state-dir", "\(directory)/state", "--log-level", "debug", "--set",
                "downloadStallSeconds=120",
            ] + extraArguments,
            environment: environment,
            stdout: .file(log),
            stderr: .file(log)
        )
        agent = process
        let signer = RequestSigner(agentID: name, keyring: Self.keyring)
        try await waitUntil("agent \(name) to answer") {
            guard process.isRunning else { throw HarnessError("agent \(name) exited: \(readLog())") }
            return
                (try? await RPCConnection.withConnection(socketPath: socketPath, signer: signer) {
                    try await $0.call(AgentHealth.self, EmptyParams())
                }) != nil
        }
    }

    /// Kills the agent at once (no graceful shutdown), as a crash would.
    func kill() async throws {
        agent?.kill()
        agent = nil
    }

    /// Stops the agent with SIGTERM (a graceful shutdown: spans and metrics are flushed).
    func stop() async throws {
        guard let agent, agent.isRunning else { return }
        try await agent.stop()
        self.agent = nil
    }

    func readLog() -> String {
        (try? String(contentsOfFile: "\(directory)/agent.log", encoding: .utf8)) ?? ""
    }

    func shutdown() {
        agent?.kill()
        server?.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    // MARK: Artifacts

    struct Artifact {
        let url: String
        let sha256: String
        let size: Int64
        let file: String
    }

    /// A ZIP of `files` made with the `zip` CLI, served over HTTP.
    func makeArtifact(_ name: String, files: [String: String]) throws -> Artifact {
        let source = "\(directory)/src-\(name)"
        try Self.write(files, into: source)
        let zip = "\(artifacts)/\(name).zip"
        try Shell.run(["zip", "-q", "-r", "-X", zip, "."], in: source)
        let data = try Data(contentsOf: URL(fileURLWithPath: zip))
        return Artifact(
            url: "\(baseURL)/\(name).zip",
            sha256: SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined(),
            size: Int64(data.count),
            file: zip
        )
    }

    /// From now on, a download of `artifact` stops half-way until `release` is called.
    func hold(_ artifact: Artifact) {
        _ = FileManager.default.createFile(atPath: artifact.file + ".hold", contents: nil)
    }

    func release(_ artifact: Artifact) {
        try? FileManager.default.removeItem(atPath: artifact.file + ".hold")
    }

    /// Whether a download of `artifact` has begun.
    func downloadStarted(_ artifact: Artifact) -> Bool {
        FileManager.default.fileExists(atPath: artifact.file + ".requested")
    }

    /// A working directory with one git commit holding `files`.
    func makeWorkingDirectory(_ project: String, files: [String: String]) throws {
        let path = workingDirectory(project)
        try Self.write(files, into: path)
        try Shell.git("init", "-q", "-b", "main", in: path)
        try Shell.git("add", "-A", in: path)
        try Shell.git("commit", "-q", "-m", "initial build", in: path)
    }

    func workingDirectory(_ project: String) -> String { "\(workRoot)/\(project)" }

    func file(_ project: String, _ relative: String) -> String? {
        try? String(contentsOfFile: "\(workingDirectory(project))/\(relative)", encoding: .utf8)
    }

    private func startArtifactServer() async throws {
        let server = try await FixtureServer.start(
            "serve-held",
            [artifacts],
            portFile: "\(directory)/artifact-port",
            log: "\(directory)/http.log"
        )
        self.server = server
        baseURL = server.baseURL
    }

    private static func write(_ files: [String: String], into root: String) throws {
        for (relative, content) in files {
            let path = "\(root)/\(relative)"
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true
            )
            try Data(content.utf8).write(to: URL(fileURLWithPath: path))
        }
    }
}
