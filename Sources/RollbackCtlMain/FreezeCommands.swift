import ArgumentParser
import Foundation
import RollbackClient
import RollbackProtocol

/// `rollbackctl freeze`: hold every new build of a project until it is unfrozen.
struct Freeze: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Freeze a project: new builds are held, not sent to the build system, until unfreeze.",
        discussion: """
            Rollbacks still work. Freezing a frozen project changes nothing.

            Example:
              rollbackctl freeze shop --reason "incident 4711: hold deploys"
            """
    )
    @OptionGroup var broker: BrokerOptions
    @OptionGroup var actor: UserOption
    @Argument(help: "The project.") var project: String
    @Option(name: .long, help: "Why (required; shown in status and history).") var reason: String

    func run() async throws {
        try await reportingFailures {
            let view = try await broker.run {
                try await $0.freeze(projectID: project, userID: actor.user, reason: reason)
            }
            try broker.print(view) { view in
                "\(view.projectID): frozen by \(view.frozen?.by ?? "-"): \(view.frozen?.reason ?? "-"); new builds are held until unfreeze"
            }
        }
    }
}

/// `rollbackctl unfreeze`: release (or discard) the held builds.
struct Unfreeze: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Unfreeze a project and release its held builds in arrival order (or --discard them).",
        discussion: """
            Examples:
              rollbackctl unfreeze shop
              rollbackctl unfreeze shop --discard --reason "superseded by the fix"
            """
    )
    @OptionGroup var broker: BrokerOptions
    @OptionGroup var actor: UserOption
    @Argument(help: "The project.") var project: String
    @Option(name: .long, help: "Why (kept in the history; the purge reason with --discard).") var reason:
        String?
    @Flag(name: .long, help: "Purge the held builds instead of releasing them.") var discard = false

    func run() async throws {
        try await reportingFailures {
            let result = try await broker.run {
                try await $0.unfreeze(
                    projectID: project,
                    userID: actor.user,
                    reason: reason,
                    discard: discard
                )
            }
            try broker.print(result) { result in
                if result.heldForRollback {
                    return
                        "\(result.projectID): unfrozen; a rollback is running, its outcome settles the held builds"
                }
                if discard {
                    return
                        "\(result.projectID): unfrozen; \(result.purgedBuilds.count) held build(s) discarded"
                }
                return "\(result.projectID): unfrozen; \(result.releasedBuilds.count) held build(s) released"
                    + (result.releasedBuilds.isEmpty
                        ? "" : ": " + result.releasedBuilds.joined(separator: ", "))
            }
        }
    }
}

/// `rollbackctl settings`: a project's settings.
struct Settings: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Change a project's settings.",
        discussion: """
            --freeze-after-rollback true freezes the project whenever a rollback succeeds, so the \
            builds held during it stay held until someone unfreezes it (default false: they are \
            released).

            Example:
              rollbackctl settings shop --freeze-after-rollback true
            """
    )
    @OptionGroup var broker: BrokerOptions
    @OptionGroup var actor: UserOption
    @Argument(help: "The project.") var project: String
    @Option(name: .long, help: "true or false.") var freezeAfterRollback: Bool?

    func run() async throws {
        try await reportingFailures {
            let view = try await broker.run {
                try await $0.updateSettings(
                    projectID: project,
                    ProjectSettingsRequest(userID: actor.user, freezeAfterRollback: freezeAfterRollback)
                )
            }
            try broker.print(view) { "\($0.projectID): freezeAfterRollback \($0.freezeAfterRollback)" }
        }
    }
}
