import Foundation
import RollbackProtocol

/// Shows a rollback's progress: a bar redrawn in place on a terminal, one plain line per update
/// otherwise (logs, CI), nothing with `--json`. Each update carries the time since the rollback
/// was accepted and, once there is enough to go on, an estimate of the time left.
struct ProgressDisplay: Sendable {
    enum Style { case bar, lines, none }
    let style: Style
    let start = ContinuousClock.now

    init(json: Bool) {
        style = json ? .none : (Output.isTerminal ? .bar : .lines)
    }

    func show(_ update: RollbackProgressEvent) {
        let timing = Self.timing(percent: update.percent, elapsed: ContinuousClock.now - start)
        switch style {
        case .none:
            return
        case .lines:
            Output.write("\(update.percent)% \(update.phase)\(Self.transfer(update)) (\(timing))")
        case .bar:
            let width = 30
            let filled = width * max(0, min(update.percent, 100)) / 100
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            let line =
                "\r\(bar) \(String(format: "%3d", update.percent))% \(update.phase.padding(toLength: 11, withPad: " ", startingAt: 0))\(Self.transfer(update).padding(toLength: 24, withPad: " ", startingAt: 0)) \(timing.padding(toLength: 22, withPad: " ", startingAt: 0))"
            Output.write(line, newline: false)
        }
    }

    /// A line that interrupts the progress (a retry, a stall), on its own line.
    func note(_ text: String) {
        switch style {
        case .none: return
        case .lines: Output.write(text)
        case .bar: Output.write("\n" + text)
        }
    }

    /// Ends the bar's line before the next output.
    func finish() {
        if style == .bar { Output.write("") }
    }

    /// "4.2 s" elapsed, and "~3 s left" once 5 % is done: the time so far, scaled by what remains.
    static func timing(percent: Int, elapsed: Duration) -> String {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        var text = format(seconds)
        if (5..<100).contains(percent) {
            text += ", ~" + format(seconds * Double(100 - percent) / Double(percent)) + " left"
        }
        return text
    }

    static func format(_ seconds: Double) -> String {
        seconds < 60 ? String(format: "%.1f s", seconds) : "\(Int(seconds) / 60) min \(Int(seconds) % 60) s"
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
