import Foundation

/// Times for people: "just now", "5 min ago", "2 h ago", "3 d ago"; absolute past a month.
enum RelativeTime {
    static func describe(_ date: Date, now: Date = Date()) -> String {
        let seconds = Int(now.timeIntervalSince(date))
        switch seconds {
        case ..<0: return "in the future (check the clocks)"
        case 0..<45: return "just now"
        case 45..<3600: return "\(max(1, (seconds + 30) / 60)) min ago"
        case 3600..<86_400: return "\((seconds + 1800) / 3600) h ago"
        case 86_400..<(30 * 86_400): return "\((seconds + 43_200) / 86_400) d ago"
        default: return ISO8601DateFormatter().string(from: date)
        }
    }

    /// A duration: "850 ms", "4.2 s", "3 min 5 s".
    static func duration(milliseconds: Int64) -> String {
        switch milliseconds {
        case ..<1000: return "\(milliseconds) ms"
        case ..<60_000: return String(format: "%.1f s", Double(milliseconds) / 1000)
        default: return "\(milliseconds / 60_000) min \((milliseconds % 60_000) / 1000) s"
        }
    }
}
