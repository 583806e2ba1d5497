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
    @OptionGroup var page: PageOptions

    func run() async throws {
        try await reportingFailures {
            let history = try await broker.run {
                try await $0.history(projectID: project, cursor: page.cursor, limit: page.limit)
            }
            try broker.print(history) { history in
                guard !history.entries.isEmpty else { return "\(history.projectID): no history yet" }
                return Table.render(
                    header: ["WHEN", "WHAT", "VERSIONS", "WHO", "OUTCOME", "TOOK", "COMMIT / TAG", "WHY"],
                    rows: history.entries.map(Self.row)
                ) + PageOptions.more(history.nextCursor)
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
