import ArgumentParser
import Foundation
import RollbackClient
import RollbackProtocol

/// `rollbackctl rollback`: roll a project back, optionally following it to the end.
struct Rollback: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Roll a project back to an earlier version.",
        discussion: """
            The preview switches at once; the working directory follows in the background. With \
            --wait, progress is shown (a bar on a terminal, a line per update otherwise) until \
            the rollback completes (exit 0) or fails and is undone (exit 4). A network failure is \
            retried with the same Idempotency-Key, so the rollback happens at most once.

            Without --to, the project goes back to the version that was current before the \
            current one (the broker resolves "previous" when it accepts the request; the line \
            printed first says which version that is).

            With --dry-run nothing happens: the host's agent compares the target's artifact \
            with the working directory and the files that would be added, changed and removed \
            are listed (the first 100 of each; --limit for more), with the bytes to download.

            Examples:
              rollbackctl rollback --project shop --dry-run
              rollbackctl rollback --project shop --reason "v42 broke checkout" --wait
              rollbackctl rollback --project shop --to v41 --wait
              rollbackctl rollback --project shop --to v41 --only 'src/config/**' --only package.json --wait
            """
    )

    @OptionGroup var broker: BrokerOptions
    @OptionGroup var actor: UserOption
    @Option(name: .long, help: "The project.") var project: String
    @Option(
        name: .customLong("to"),
        help: "The version to roll back to; previous is the one current before the current one."
    )
    var version: String = RollbackRequest.previous
    @Option(name: .long, help: "Why (kept in the audit log).") var reason: String?
    @Flag(name: .customLong("skip-workdir"), help: "Switch the preview only; leave the working directory.")
    var skipWorkdir = false
    @Flag(name: .long, help: "Follow the rollback until it completes or fails.") var wait = false
    @Flag(name: .long, help: "Only show what the rollback would change in the working directory.")
    var dryRun = false
    @Option(name: .long, help: "With --dry-run: the most paths listed per kind (0–1000).") var limit: Int?
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Restore only these paths or glob patterns (repeatable); the rest of the working directory stays.",
            discussion: "The preview URL does not switch; a build of the result is requested instead."
        )
    )
    var only: [String] = []

    /// `--to`, checked as the broker checks a version id (before anything is sent).
    func checkVersion() throws {
        if version != RollbackRequest.previous, let rule = WireRules.id(version) {
            throw CommandFailure(code: CommandFailure.usage, message: "--to \(rule), got \"\(version)\"")
        }
    }

    /// `--only`, checked as the broker and the agent check it.
    var selection: [String]? {
        get throws {
            guard !only.isEmpty else { return nil }
            if let rule = PathSelection.check(only) {
                throw CommandFailure(code: CommandFailure.usage, message: "--only \(rule)")
            }
            if skipWorkdir {
                throw CommandFailure(
                    code: CommandFailure.usage,
                    message: "--only cannot be combined with --skip-workdir"
                )
            }
            return only
        }
    }
    @Option(name: .long, help: "Idempotency-Key (default: a new one; reuse one to repeat a request safely).")
    var idempotencyKey: String?

    /// `--json` output: the answer and, with `--wait`, the outcome.
    struct Report: Encodable {
        var accepted: RollbackAccepted
        var outcome: String?
        var completed: RollbackCompletedEvent?
        var failed: RollbackFailedEvent?
        var canceled: RollbackCanceledEvent?
    }

    func run() async throws {
        try await reportingFailures {
            try checkVersion()
            try await broker.run { client in
                if dryRun { return try await preview(client) }
                let request = RollbackRequest(
                    userID: actor.user,
                    projectID: project,
                    targetVersionID: version,
                    skipWorkingDirectory: skipWorkdir ? true : nil,
                    reason: reason,
                    only: try selection
                )
                let announced = try await announce(client)
                let accepted =
                    if let idempotencyKey {
                        try await client.rollback(request, idempotencyKey: idempotencyKey)
                    } else {
                        try await client.rollback(request)
                    }
                if !broker.json, let announced, announced != accepted.targetVersionID {
                    Output.write(
                        "note: the project changed meanwhile; the broker resolved previous to \(accepted.targetVersionID)"
                    )
                }
                if !broker.json {
                    Output.write(
                        "\(project): rolling back to \(accepted.targetVersionID) as \(accepted.rollbackVersionID); preview \(accepted.previewURL)"
                            + (accepted.jobID.map { "; job \($0)" } ?? " (preview only)")
                    )
                }
                var report = Report(accepted: accepted)
                guard wait else {
                    if broker.json { Output.write(try Output.jsonText(report)) }
                    return
                }
                let display = ProgressDisplay(json: broker.json)
                let watch = RetryWatch()
                let outcome = try await withThrowingTaskGroup(of: RollbackOutcome?.self) { group in
                    group.addTask {
                        try await client.waitForRollback(accepted) {
                            watch.progressed()
                            display.show($0)
                        }
                    }
                    if let jobID = accepted.jobID {
                        group.addTask {
                            await watch.watch(client, jobID: jobID, display: display)
                            return nil
                        }
                    }
                    defer { group.cancelAll() }
                    while let result = try await group.next() {
                        if let result { return result }
                    }
                    return .previewOnly
                }
                display.finish()
                switch outcome {
                case .previewOnly:
                    report.outcome = "previewOnly"
                    if !broker.json { Output.write("done: preview only, nothing to sync") }
                case .completed(let completed):
                    report.outcome = "completed"
                    report.completed = completed
                    if !broker.json {
                        Output.write(
                            "completed in \(Double(completed.durationMilliseconds) / 1000) s: commit \(completed.commitID ?? "-"), tag \(completed.tag ?? "-"), \(completed.releasedBuilds) held build(s) released"
                        )
                    }
                case .canceled(let canceled):
                    report.outcome = "canceled"
                    report.canceled = canceled
                    if broker.json { Output.write(try Output.jsonText(report)) }
                    throw CommandFailure(
                        code: CommandFailure.rollbackCanceled,
                        message:
                            "rollback canceled by \(canceled.canceledBy) before the swap; nothing was changed, preview restored to \(canceled.restoredPreviewURL ?? "-")"
                    )
                case .failed(let failed):
                    report.outcome = "failed"
                    report.failed = failed
                    if broker.json { Output.write(try Output.jsonText(report)) }
                    throw CommandFailure(
                        code: CommandFailure.rollbackFailed,
                        message:
                            "rollback failed and was undone (\(failed.errorCode): \(failed.errorMessage)); preview restored to \(failed.restoredPreviewURL ?? "-")"
                    )
                }
                if broker.json { Output.write(try Output.jsonText(report)) }
            }
        }
    }
}

extension Rollback {
    /// For `previous`: says which version that is before acting ("shop: v42 → v41 (build, 2 h
    /// ago by alice)") and returns its id; nil for a named version.
    func announce(_ client: BrokerClient) async throws -> String? {
        guard version == RollbackRequest.previous else { return nil }
        let project = try await client.project(self.project)
        let target = try await client.previousVersion(
            projectID: self.project,
            skipWorkingDirectory: skipWorkdir
        )
        if !broker.json {
            let history = try await client.history(projectID: self.project, limit: 200)
            let madeCurrent = history.entries.first {
                $0.toVersionID == target.versionID
                    && [.build, .rollbackStarted, .previewOnly].contains($0.kind)
            }
            let origin =
                target.kind == "rollback"
                ? "rollback of \(target.parentVersionID ?? "-")" : "built"
            Output.write(
                "\(self.project): \(project.currentVersionID ?? "-") → \(target.versionID) (\(origin) \(RelativeTime.describe(target.createdAt))"
                    + (madeCurrent?.actor.map { " by \($0)" } ?? "") + ")"
            )
        }
        return target.versionID
    }
}

/// `rollbackctl status`: a project.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a project: status, current version, preview."
    )
    @OptionGroup var broker: BrokerOptions
    @Argument(help: "The project.") var project: String

    func run() async throws {
        try await reportingFailures {
            let view = try await broker.run { try await $0.project(project) }
            try broker.print(view) {
                "\($0.projectID): \($0.status.rawValue), version \($0.currentVersionID ?? "-"), preview \($0.previewURL ?? "-"), host \($0.host), epoch \($0.epoch)"
                    + ($0.activeJobID.map { ", job \($0)" } ?? "")
                    + ($0.current.map { "\n" + Self.describe($0) } ?? "")
                    + ($0.frozen.map {
                        "\nfrozen \(RelativeTime.describe($0.at)) by \($0.by ?? "-")\($0.reason.map { ": \($0)" } ?? ""); new builds are held"
                    } ?? "")
            }
        }
    }
}

extension Status {
    /// "current: v41 (build, deployment d-9), since 2 h ago (build by alice)".
    static func describe(_ current: CurrentVersion) -> String {
        var label =
            current.kind == "rollback" ? "rollback of \(current.parentVersionID ?? "-")" : current.kind
        if let deployment = current.deploymentID { label += ", deployment \(deployment)" }
        var line = "current: \(current.versionID) (\(label))"
        if let since = current.since {
            line += ", since \(RelativeTime.describe(since))"
            let how = [current.via?.rawValue, current.actor.map { "by \($0)" }].compactMap { $0 }
            if !how.isEmpty { line += " (\(how.joined(separator: " ")))" }
        }
        if let reason = current.reason { line += ": \(reason)" }
        return line
    }
}

/// `rollbackctl jobs show`.
struct Jobs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Inspect sync jobs.", subcommands: [Show.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a job: state, attempts, progress, error."
        )
        @OptionGroup var broker: BrokerOptions
        @Argument(help: "The job id.") var job: String

        func run() async throws {
            try await reportingFailures {
                let view = try await broker.run { try await $0.job(job) }
                try broker.print(view) {
                    "\($0.jobID): \($0.state.rawValue), project \($0.projectID), version \($0.versionID), attempt \($0.attempts), \($0.progressPercent)% \($0.phase ?? "")"
                        + ($0.errorCode.map { " — \($0): \(view.errorMessage ?? "")" } ?? "")
                }
            }
        }
    }
}

/// `rollbackctl events`: a project's events.
struct Events: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a project's events (one line each, or one JSON object per line with --json).",
        discussion: "With --follow, keeps printing new events until interrupted, reconnecting after a drop."
    )
    @OptionGroup var broker: BrokerOptions
    @Argument(help: "The project.") var project: String
    @Flag(name: .long, help: "Keep printing new events.") var follow = false
    @Option(name: .long, help: "Start after this event id.") var after: Int64?

    func run() async throws {
        try await reportingFailures {
            try await broker.run { client in
                if follow {
                    for try await event in client.events(projectID: project, after: after) { try show(event) }
                } else {
                    for event in try await client.storedEvents(projectID: project, after: after) {
                        try show(event)
                    }
                }
            }
        }
    }

    private func show(_ event: BrokerEvent) throws {
        if broker.json {
            Output.write(try Output.jsonLine(EventLine(event)))
        } else {
            Output.write("\(event.id) \(EventLine(event).summary)")
        }
    }

    /// An event as `--json` prints it: `{ "id", "type", "event" }`.
    struct EventLine: Encodable {
        var id: Int64
        var type: String
        var event: AnyEncodable
        var summary: String

        init(_ event: BrokerEvent) {
            id = event.id
            switch event.kind {
            case .rollbackStarted(let e):
                (type, self.event, summary) = (
                    "rollbackStarted", AnyEncodable(e),
                    "rollbackStarted \(e.rollbackVersionID) → \(e.targetVersionID)"
                )
            case .rollbackProgress(let e):
                (type, self.event, summary) = (
                    "rollbackProgress", AnyEncodable(e), "rollbackProgress \(e.percent)% \(e.phase)"
                )
            case .rollbackCompleted(let e):
                (type, self.event, summary) = (
                    "rollbackCompleted", AnyEncodable(e),
                    "rollbackCompleted \(e.rollbackVersionID) commit \(e.commitID ?? "-")"
                )
            case .rollbackFailed(let e):
                (type, self.event, summary) = (
                    "rollbackFailed", AnyEncodable(e),
                    "rollbackFailed \(e.rollbackVersionID) \(e.errorCode): \(e.errorMessage)"
                )
            case .rollbackCanceled(let e):
                (type, self.event, summary) = (
                    "rollbackCanceled", AnyEncodable(e),
                    "rollbackCanceled \(e.rollbackVersionID) by \(e.canceledBy)"
                )
            case .buildReleased(let e):
                (type, self.event, summary) = ("buildReleased", AnyEncodable(e), "buildReleased \(e.buildID)")
            case .buildPurged(let e):
                (type, self.event, summary) = ("buildPurged", AnyEncodable(e), "buildPurged \(e.buildID)")
            case .other(let kind, let json):
                (type, self.event, summary) = (kind, AnyEncodable(json), "\(kind) \(json)")
            }
        }

        enum CodingKeys: String, CodingKey { case id, type, event }
    }
}

/// `rollbackctl publish`.
struct Publish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Publish a ready version.")
    @OptionGroup var broker: BrokerOptions
    @OptionGroup var actor: UserOption
    @Argument(help: "The version.") var version: String

    func run() async throws {
        try await reportingFailures {
            let view = try await broker.run { try await $0.publish(versionID: version, userID: actor.user) }
            try broker.print(view) {
                "\($0.versionID) published (project \($0.projectID), preview \($0.previewURL ?? "-"))"
            }
        }
    }
}

/// Wraps any `Encodable` value so differently typed events fit one field.
struct AnyEncodable: Encodable {
    private let encodeValue: (any Encoder) throws -> Void
    init(_ value: some Encodable) { encodeValue = value.encode }
    func encode(to encoder: any Encoder) throws { try encodeValue(encoder) }
}
