import ArgumentParser
import Crypto
import Foundation
import RollbackClient
import RollbackProtocol

/// `rollbackctl projects`: register and look at projects, as the build system does.
struct Projects: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Register a project, list projects, show one.",
        subcommands: [Create.self, List.self, Show.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a project and the build host whose agent keeps its working directory.",
            discussion: """
                Registering the same project again with the same owner and host changes nothing.

                Example:
                  rollbackctl projects create --project shop --host build-1
                """
        )
        @OptionGroup var broker: BrokerOptions
        @OptionGroup var actor: UserOption
        @Option(name: .long, help: "The project id.") var project: String
        @Option(name: .long, help: "The build host (as the dispatcher's --agent names it).") var host: String

        /// Ids are checked here with the protocol's own rules, before anything is sent.
        func validate() throws {
            if let rule = WireRules.projectID(project) { throw ValidationError("--project \(rule)") }
            if let rule = WireRules.id(host) { throw ValidationError("--host \(rule)") }
            if let rule = WireRules.id(actor.user) { throw ValidationError("--user \(rule)") }
        }

        func run() async throws {
            try await reportingFailures {
                let view = try await broker.run {
                    try await $0.registerProject(
                        RegisterProjectRequest(projectID: project, userID: actor.user, host: host)
                    )
                }
                try broker.print(view) { "\($0.projectID): registered for \($0.userID) on host \($0.host)" }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List projects in id order.")
        @OptionGroup var broker: BrokerOptions
        @Option(name: .long, help: "Only this user's projects.") var user: String?
        @OptionGroup var page: PageOptions

        func run() async throws {
            try await reportingFailures {
                let list = try await broker.run {
                    try await $0.projects(user: user, cursor: page.cursor, limit: page.limit)
                }
                try broker.print(list) { list in
                    guard !list.projects.isEmpty else { return "no projects" }
                    return Table.render(
                        header: ["PROJECT", "STATUS", "VERSION", "HOST", "USER", "UPDATED"],
                        rows: list.projects.map {
                            [
                                $0.projectID, $0.status.rawValue + ($0.frozen == nil ? "" : " (frozen)"),
                                $0.currentVersionID ?? "-", $0.host, $0.userID,
                                RelativeTime.describe($0.updatedAt),
                            ]
                        }
                    ) + PageOptions.more(list.nextCursor)
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a project (as rollbackctl status).")
        @OptionGroup var broker: BrokerOptions
        @Argument(help: "The project.") var project: String

        func run() async throws {
            var status = Status()
            status.broker = broker
            status.project = project
            try await status.run()
        }
    }
}

/// `rollbackctl versions`: a project's versions; `versions add` registers a built one.
struct Versions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List a project's versions, or register a built one.",
        subcommands: [List.self, Add.self],
        defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a project's versions, oldest first.")
        @OptionGroup var broker: BrokerOptions
        @Argument(help: "The project.") var project: String

        func run() async throws {
            try await reportingFailures {
                let list = try await broker.run { try await $0.versions(projectID: project) }
                try broker.print(list) { list in
                    list.versions.map { version in
                        "\(version.versionID)  \(version.kind)  \(version.status.rawValue)"
                            + (version.published ? "  published" : "")
                            + (version.parentVersionID.map { "  from \($0)" } ?? "")
                    }.joined(separator: "\n")
                }
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Register a built version (what the build system does after a build), by default as current.",
            discussion: """
                The artifact is a ZIP the project's agent downloads (http, https, or file on the \
                build host). Give its SHA-256 and size, or --file to compute them from a local copy.

                Example:
                  rollbackctl versions add --project shop --version v42 \\
                    --artifact https://artifacts.example.com/shop/v42.zip --file ./v42.zip \\
                    --preview-url https://v42.shop.example.com
                """
        )
        @OptionGroup var broker: BrokerOptions
        @Option(name: .long, help: "The project.") var project: String
        @Option(name: .long, help: "The version id (unique across all projects).") var version: String
        @Option(name: .long, help: "Where the agent downloads the artifact.") var artifact: String?
        @Option(name: .long, help: "A local copy of the artifact: its SHA-256 and size are computed.")
        var file: String?
        @Option(name: .long, help: "The artifact's SHA-256 (64 lower-case hex digits).") var sha256: String?
        @Option(name: .long, help: "The artifact's size in bytes.") var size: Int64?
        @Option(name: .customLong("preview-url"), help: "Where the version is previewed.") var previewURL:
            String?
        @Option(name: .customLong("deployment-id"), help: "The deployment's id, if any.") var deploymentID:
            String?
        @Flag(name: .customLong("no-make-current"), help: "Register only; the current version stays.")
        var noMakeCurrent = false

        func validate() throws {
            if let rule = WireRules.projectID(project) { throw ValidationError("--project \(rule)") }
            if let rule = WireRules.id(version) { throw ValidationError("--version \(rule)") }
            if file != nil && (sha256 != nil || size != nil) {
                throw ValidationError("give --file or --sha256 with --size, not both")
            }
            if artifact == nil && (file != nil || sha256 != nil || size != nil) {
                throw ValidationError("--file, --sha256 and --size describe --artifact; give it too")
            }
            if artifact != nil && file == nil && (sha256 == nil || size == nil) {
                throw ValidationError("--artifact needs --file, or --sha256 and --size")
            }
        }

        func run() async throws {
            try await reportingFailures {
                var digest = sha256
                var bytes = size
                if let file {
                    guard let data = FileManager.default.contents(atPath: file) else {
                        throw CommandFailure(
                            code: CommandFailure.usage,
                            message: "--file \(file): cannot read it"
                        )
                    }
                    digest = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
                    bytes = Int64(data.count)
                }
                let request = RegisterVersionRequest(
                    versionID: version,
                    artifactURL: artifact,
                    artifactSHA256: digest,
                    artifactSize: bytes,
                    previewURL: previewURL,
                    deploymentID: deploymentID,
                    makeCurrent: noMakeCurrent ? false : nil
                )
                let view = try await broker.run { try await $0.registerVersion(projectID: project, request) }
                try broker.print(view) {
                    "\(project): version \($0.versionID) registered" + (noMakeCurrent ? "" : " and current")
                }
            }
        }
    }
}
