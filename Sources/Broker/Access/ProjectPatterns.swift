/// The projects an operator key is limited to: ids or patterns where `*` matches any run of
/// characters (`shop-*`, `*-staging`, `blog`).
public struct ProjectPatterns: Sendable, Hashable, CustomStringConvertible {
    public let patterns: [String]

    /// - Throws: a message naming the bad pattern: empty, or characters a project id cannot hold.
    public init(_ patterns: [String]) throws(AccessKeyringError) {
        guard !patterns.isEmpty else {
            throw AccessKeyringError("\"projects\" must list at least one pattern")
        }
        for pattern in patterns {
            let id = pattern.replacingOccurrences(of: "*", with: "")
            guard pattern.utf8.count <= 128,
                id.utf8.allSatisfy({ Self.idByte($0) })
            else {
                throw AccessKeyringError(
                    "project pattern \"\(pattern.prefix(64))\" may hold only A–Z a–z 0–9 . _ ~ - and *"
                )
            }
        }
        self.patterns = patterns
    }

    public func matches(_ projectID: String) -> Bool {
        patterns.contains { Self.glob(Array($0.utf8)[...], Array(projectID.utf8)[...]) }
    }

    /// The patterns as SQL `LIKE` patterns (`*` → `%`, `_` and `%` escaped with `\`), for
    /// filtering lists in PostgreSQL.
    var likePatterns: [String] {
        patterns.map { pattern in
            var like = ""
            for character in pattern {
                switch character {
                case "*": like += "%"
                case "_", "%", "\\": like += "\\\(character)"
                default: like.append(character)
                }
            }
            return like
        }
    }

    public var description: String { patterns.joined(separator: ", ") }

    /// A byte a project id or an actor may hold.
    static func idByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"),
            UInt8(ascii: "-"):
            true
        default: false
        }
    }

    /// `*`-only glob, iterative with one backtrack point (linear in practice, no recursion).
    private static func glob(_ pattern: ArraySlice<UInt8>, _ text: ArraySlice<UInt8>) -> Bool {
        var p = pattern.startIndex
        var t = text.startIndex
        var star: Int?
        var resume = t
        while t < text.endIndex {
            if p < pattern.endIndex, pattern[p] == UInt8(ascii: "*") {
                star = p
                p += 1
                resume = t
            } else if p < pattern.endIndex, pattern[p] == text[t] {
                p += 1
                t += 1
            } else if let star {
                p = star + 1
                resume += 1
                t = resume
            } else {
                return false
            }
        }
        while p < pattern.endIndex, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.endIndex
    }
}
