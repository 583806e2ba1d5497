import ArgumentParser
import Foundation
import RollbackClient
import RollbackProtocol

extension Rollback {
    /// `--dry-run`: what the rollback would change, from the host's agent; changes nothing.
    func preview(_ client: BrokerClient) async throws {
        if let limit, !(0...1000).contains(limit) {
            throw CommandFailure(code: CommandFailure.usage, message: "--limit must be 0–1000, got \(limit)")
        }
        let preview = try await client.previewRollback(
            RollbackPreviewRequest(
                userID: actor.user,
                projectID: project,
                targetVersionID: version,
                limit: limit,
                only: try selection
            )
        )
        try broker.print(preview) { Self.describe($0) }
    }

    static func describe(_ preview: RollbackPreview) -> String {
        let counts = preview.counts
        let touched = counts.added + counts.changed + counts.removed
        var lines = [
            "\(preview.projectID): rolling back \(preview.currentVersionID ?? "-") → \(preview.targetVersionID) would change "
                + "\(touched) file(s): \(counts.added) added, \(counts.changed) changed, \(counts.removed) removed; "
                + "\(counts.unchanged) unchanged",
            preview.artifactCached
                ? "artifact: cached on the host, nothing to download; \(ProgressDisplay.bytes(preview.bytesToWrite)) to write"
                : "artifact: \(ProgressDisplay.bytes(preview.bytesToDownload)) to download; \(ProgressDisplay.bytes(preview.bytesToWrite)) to write",
        ]
        for (mark, paths, total) in [
            ("+", preview.added, counts.added), ("~", preview.changed, counts.changed),
            ("-", preview.removed, counts.removed),
        ] {
            lines += paths.map { "  \(mark) \($0)" }
            if total > paths.count { lines.append("  \(mark) … and \(total - paths.count) more") }
        }
        lines.append("nothing was changed (dry run)")
        return lines.joined(separator: "\n")
    }
}

/// `rollbackctl cancel`: stop a project's rollback before the agent's swap.
struct Cancel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Cancel a project's rollback before it replaces the working directory.",
        discussion: """
            Before the agent's swap the rollback stops: the working directory and its git \
            history are left as they were, and the project's version, preview URL and status go \
            back to what they were before the rollback. After the swap it is too late: the \
            command fails (exit 1, too_late_to_cancel) and the rollback completes. Canceling a \
            canceled rollback answers the same again.

            Example:
              rollbackctl cancel shop --reason "wrong version"
            """
    )
    @OptionGroup var broker: BrokerOptions
    @OptionGroup var actor: UserOption
    @Argument(help: "The project.") var project: String
    @Option(name: .long, help: "Why (kept in the audit log and the history).") var reason: String?

    func run() async throws {
        try await reportingFailures {
            let answer = try await broker.run {
                try await $0.cancelRollback(projectID: project, userID: actor.user, reason: reason)
            }
            try broker.print(answer) { answer in
                switch answer.state {
                case .canceled:
                    "\(answer.projectID): rollback \(answer.rollbackVersionID) canceled; nothing was changed; "
                        + "back to \(answer.restoredVersionID ?? "-") (\(answer.status?.rawValue ?? "-")), "
                        + "preview \(answer.restoredPreviewURL ?? "-")"
                case .cancelRequested:
                    "\(answer.projectID): cancel of rollback \(answer.rollbackVersionID) requested; "
                        + "the dispatcher stops it at the agent (follow: rollbackctl events \(answer.projectID) --follow)"
                }
            }
        }
    }
}
