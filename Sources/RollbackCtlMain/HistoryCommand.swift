import ArgumentParser
import Foundation
import RollbackClient
import RollbackProtocol

/// `rollbackctl history`: who changed a project's current version, when, why, and what came of it.
struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Show a project's history, newest first: builds made current, rollbacks and their outcomes.",
        discussion: """
            Each line: when, what happened, the versions (from → to), who and why, the outcome, \
            how long it took, and the commit and tag a completed rollback made. Kept a year by \
            default (the broker's historyRetentionDays).

            Examples:
              rollbackctl history shop
              rollbackctl history shop --limit 200 --json
            """
    )
    @OptionGroup var broker: BrokerOptions
    @Argument(help: "The project.") var project: String
    @Option(name: .long, help: "How many entries (1–200).") var limit: Int = 20
    @Option(name: .long, help: "Start after this entry (a page's nextCursor).") var cursor: String?

    func run() async throws {
        try await reportingFailures {
            guard (1...200).contains(limit) else {
                throw CommandFailure(code: CommandFailure.usage, message: "--limit must be from 1 to 200")
            }
            let page = try await broker.run {
                try await $0.history(projectID: project, cursor: cursor, limit: limit)
            }
            try broker.print(page) { page in
                guard !page.entries.isEmpty else { return "\(page.projectID): no history yet" }
                let rows = page.entries.map(Self.row)
                return Table.render(
                    header: ["WHEN", "WHAT", "VERSIONS", "WHO", "OUTCOME", "TOOK", "COMMIT / TAG", "WHY"],
                    rows: rows
                ) + (page.nextCursor.map { "\n(more: --cursor \($0))" } ?? "")
            }
        }
    }

    static func row(_ entry: HistoryEntry) -> [String] {
        let versions: String
        switch entry.kind {
        case .rollbackStarted, .previewOnly:
            versions =
                "\(entry.fromVersionID ?? "-") → \(entry.targetVersionID ?? "-") (as \(entry.toVersionID ?? "-"))"
        case .rollbackCompleted:
            versions = "→ \(entry.targetVersionID ?? "-") (as \(entry.toVersionID ?? "-"))"
        case .rollbackFailed, .rollbackCanceled:
            versions = "back to \(entry.toVersionID ?? "-")"
        default:
            versions = "\(entry.fromVersionID ?? "-") → \(entry.toVersionID ?? "-")"
        }
        let commit = [entry.commitID.map { String($0.prefix(12)) }, entry.tag].compactMap { $0 }
        return [
            RelativeTime.describe(entry.at),
            entry.kind.rawValue,
            versions,
            entry.actor ?? "-",
            entry.errorCode.map { "\(entry.outcome) (\($0))" } ?? entry.outcome,
            entry.durationMilliseconds.map { RelativeTime.duration(milliseconds: $0) } ?? "",
            commit.joined(separator: " "),
            entry.reason ?? "",
        ]
    }
}

/// Left-aligned columns separated by two spaces; trailing blanks trimmed.
enum Table {
    static func render(header: [String], rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.indices.map { column in
                column == row.count - 1
                    ? row[column] : row[column].padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }.joined(separator: "\n")
    }
}
