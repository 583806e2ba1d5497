import Foundation
import RollbackProtocol

/// Shows a rollback's progress: a bar redrawn in place on a terminal, one plain line per update
/// otherwise (logs, CI), nothing with `--json`.
struct ProgressDisplay: Sendable {
    enum Style { case bar, lines, none }
    let style: Style

    init(json: Bool) {
        style = json ? .none : (Output.isTerminal ? .bar : .lines)
    }

    func show(_ update: RollbackProgressEvent) {
        switch style {
        case .none:
            return
        case .lines:
            Output.write("\(update.percent)% \(update.phase)\(Self.transfer(update))")
        case .bar:
            let width = 30
            let filled = width * max(0, min(update.percent, 100)) / 100
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            let line =
                "\r\(bar) \(String(format: "%3d", update.percent))% \(update.phase.padding(toLength: 11, withPad: " ", startingAt: 0))\(Self.transfer(update).padding(toLength: 24, withPad: " ", startingAt: 0))"
            Output.write(line, newline: false)
        }
    }

    /// Ends the bar's line before the next output.
    func finish() {
        if style == .bar { Output.write("") }
    }

    /// " 1.2 MB/2.0 MB" while bytes move, else nothing.
    static func transfer(_ update: RollbackProgressEvent) -> String {
        update.bytesTotal > 0 ? " \(bytes(update.bytesDone))/\(bytes(update.bytesTotal))" : ""
    }

    static func bytes(_ count: Int64) -> String {
        count >= 1_000_000
            ? String(format: "%.1f MB", Double(count) / 1_000_000)
            : String(format: "%.0f kB", Double(count) / 1000)
    }
}
