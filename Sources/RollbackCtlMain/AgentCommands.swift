import ArgumentParser
import Foundation
import RollbackClient
import RollbackProtocol

/// Options every `rollbackctl agent` command shares.
struct AgentOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "The agent's socket (env ROLLBACK_AGENT_SOCKET)."
    )
    var socket: String =
        ProcessInfo.processInfo.environment["ROLLBACK_AGENT_SOCKET"] ?? "/run/rollback/agent.sock"

    @Option(name: .long, help: "The agent's id (env ROLLBACK_AGENT_ID, else this host's name).")
    var agentID: String =
        ProcessInfo.processInfo.environment["ROLLBACK_AGENT_ID"]
        ?? (ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "agent")

    @Option(name: .long, help: "Keyring file with a key the agent accepts (env ROLLBACK_KEYRING).")
    var keyring: String =
        ProcessInfo.processInfo.environment["ROLLBACK_KEYRING"] ?? "/etc/rollback/agent-keyring.json"

    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false

    func endpoint() throws -> AgentEndpoint {
        do {
            return try AgentEndpoint(socketPath: socket, agentID: agentID, keyringFile: keyring)
        } catch {
            throw CommandFailure(code: 2, message: "keyring \(keyring): \(error)")
        }
    }

    /// Runs `body` on a session, turning failures into one human line and an exit code.
    func withSession<T: Sendable>(_ body: (AgentSession) async throws -> T) async throws -> T {
        let endpoint = try endpoint()
        do {
            return try await AgentClient(endpoint: endpoint).withSession(body)
        } catch let error as RPCError {
            throw CommandFailure(code: 1, message: "\(error.code.name): \(error.message)")
        } catch let error as CommandFailure {
            throw error
        } catch {
            throw CommandFailure(
                code: 3,
                message: "cannot reach the agent at \(endpoint.socketPath): \(error)"
            )
        }
    }

    func print<T: Encodable>(_ value: T, human: (T) -> String) throws {
        try Output.print(value, json: json, human: human)
    }
}

struct AgentCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Talk to the rollback agent on this host.",
        subcommands: [Health.self, Status.self, Cancel.self, Sync.self]
    )

    struct Health: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show whether the agent is healthy.")
        @OptionGroup var options: AgentOptions

        func run() async throws {
            try await reportingFailures {
                let health = try await options.withSession { try await $0.health() }
                try options.print(health) {
                    "\($0.status): agent \($0.agentVersion), up \($0.uptimeSeconds) s, \($0.runningJobs) running, \($0.diskFreeBytes / 1_000_000) MB free"
                }
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a job's state.")
        @OptionGroup var options: AgentOptions
        @Argument(help: "The job id.") var jobID: String

        func run() async throws {
            try await reportingFailures {
                let status = try await options.withSession { try await $0.status(jobID: jobID) }
                try options.print(status) { status in
                    var line =
                        "\(status.jobID) \(status.state.rawValue) (\(status.phase.rawValue), \(status.percent)%) project \(status.projectID)"
                    if let commit = status.result?.commitID { line += " commit \(commit)" }
                    if let error = status.error { line += " — \(error.name): \(error.message)" }
                    return line
                }
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a job (effective before its swap).")
        @OptionGroup var options: AgentOptions
        @Argument(help: "The job id.") var jobID: String
        @Option(help: "Why, for the agent's log.") var reason: String?

        func run() async throws {
            try await reportingFailures {
                let answer = try await options.withSession {
                    try await $0.cancel(jobID: jobID, reason: reason)
                }
                try options.print(answer) {
                    $0.willStop
                        ? "\($0.jobID) will stop; nothing is changed"
                        : "\($0.jobID) is past its swap (\($0.state.rawValue)); it will finish"
                }
            }
        }
    }

    struct Sync: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Put an artifact into a project's working directory (what the broker's dispatcher does).",
            discussion: "Prints progress lines while it runs, then the result."
        )
        @OptionGroup var options: AgentOptions
        @Option(help: "Job id (a retry with the same id attaches to the job).") var job: String
        @Option(help: "Project id: the directory name under the agent's work root.") var project: String
        @Option(help: "The rollback version being created.") var rollbackVersion: String
        @Option(help: "The version whose files are put back.") var targetVersion: String
        @Option(help: "Artifact URL (http, https or file).") var url: String
        @Option(help: "Expected SHA-256 of the artifact.") var sha256: String
        @Option(help: "Expected size of the artifact in bytes.") var size: Int64
        @Option(help: "Fencing epoch.") var epoch: Int64 = 1
        @Flag(help: "Only report what would change.") var dryRun = false
        @Flag(help: "No progress lines.") var quiet = false

        func run() async throws {
            try await reportingFailures {
                let params = WorkdirSync.Params(
                    jobID: job,
                    projectID: project,
                    rollbackVersionID: rollbackVersion,
                    targetVersionID: targetVersion,
                    artifact: .init(url: url, sha256: sha256, sizeBytes: size),
                    epoch: epoch,
                    dryRun: dryRun
                )
                let showProgress = !quiet && !options.json
                let result = try await options.withSession { session in
                    try await session.sync(params, trace: .random()) { update in
                        if showProgress {
                            FileHandle.standardError.write(
                                Data(
                                    "\(update.percent)% \(update.phase.rawValue)\(update.message.map { " — \($0)" } ?? "")\n"
                                        .utf8
                                )
                            )
                        }
                    }
                }
                try options.print(result) { result in
                    let files = result.files
                    return
                        "\(result.state.rawValue): commit \(result.commitID ?? "-") tag \(result.tag ?? "-"); "
                        + "\(files.added) added, \(files.changed) changed, \(files.removed) removed, \(files.unchanged) unchanged; "
                        + "phases "
                        + result.phaseMilliseconds.sorted { $0.key < $1.key }.map {
                            "\($0.key) \($0.value) ms"
                        }.joined(separator: ", ")
                }
            }
        }
    }
}
