/// The paths a selective rollback restores (`only`): relative paths or glob patterns over the
/// working directory's `/`-separated paths. `*` matches within one path component, `?` one
/// character, `[abc]` / `[a-z]` / `[!abc]` one character of a set, and a `**` component any
/// number of components (`src/**/*.json`). A pattern also selects everything under what it
/// names, so `src/config` is the same as `src/config/**`. Owned here so that the broker, the
/// agent and `rollbackctl` accept and match the same patterns.
public struct PathSelection: Sendable, Hashable {
    public static let maxPatterns = 100
    public static let maxPatternBytes = 512
    public static let rule =
        "must be 1–\(maxPatterns) relative paths or glob patterns (*, ?, [..], **) of at most \(maxPatternBytes) bytes, "
        + "without empty, . or .. components, .git, backslashes or control characters"

    public let patterns: [String]
    private let compiled: [[Substring]]

    /// Nil when the patterns break the rule (`PathSelection.rule`).
    public init?(_ patterns: [String]) {
        guard !patterns.isEmpty, patterns.count <= Self.maxPatterns, patterns.allSatisfy(Self.isValid) else {
            return nil
        }
        self.patterns = patterns
        compiled = patterns.map { $0.split(separator: "/", omittingEmptySubsequences: false) }
    }

    /// Checks `patterns`; nil when valid, else the rule in words.
    public static func check(_ patterns: [String]) -> String? {
        PathSelection(patterns) == nil ? rule : nil
    }

    /// Whether `path` (relative, `/`-separated) is selected.
    public func matches(_ path: String) -> Bool {
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        return compiled.contains { Self.match($0[...], components[...], prefix: true) }
    }

    private static func isValid(_ pattern: String) -> Bool {
        guard !pattern.isEmpty, pattern.utf8.count <= maxPatternBytes, !pattern.hasPrefix("/"),
            !pattern.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f || $0 == UInt8(ascii: "\\") })
        else { return false }
        let components = pattern.split(separator: "/", omittingEmptySubsequences: false)
        return components.allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." && $0 != ".git" }
    }

    /// Matches pattern components against path components. With `prefix`, a pattern that runs
    /// out while the path goes on matches too (it names a directory of the path).
    private static func match(
        _ pattern: ArraySlice<Substring>,
        _ path: ArraySlice<Substring>,
        prefix: Bool
    ) -> Bool {
        guard let head = pattern.first else { return prefix || path.isEmpty }
        if head == "**" {
            let rest = pattern.dropFirst()
            var remaining = path
            while true {
                if match(rest, remaining, prefix: prefix) { return true }
                guard !remaining.isEmpty else { return false }
                remaining = remaining.dropFirst()
            }
        }
        guard let component = path.first, matchComponent(Array(head.utf8)[...], Array(component.utf8)[...])
        else {
            return false
        }
        return match(pattern.dropFirst(), path.dropFirst(), prefix: prefix)
    }

    /// `*`, `?` and `[...]` within one component (bytes; UTF-8 names compare byte by byte, and
    /// `?` matches one byte).
    private static func matchComponent(_ pattern: ArraySlice<UInt8>, _ name: ArraySlice<UInt8>) -> Bool {
        guard let first = pattern.first else { return name.isEmpty }
        switch first {
        case UInt8(ascii: "*"):
            var rest = name
            while true {
                if matchComponent(pattern.dropFirst(), rest) { return true }
                guard !rest.isEmpty else { return false }
                rest = rest.dropFirst()
            }
        case UInt8(ascii: "?"):
            return !name.isEmpty && matchComponent(pattern.dropFirst(), name.dropFirst())
        case UInt8(ascii: "["):
            guard let byte = name.first, let (matched, after) = matchClass(pattern.dropFirst(), byte) else {
                // An unclosed `[` is a literal.
                return name.first == first && matchComponent(pattern.dropFirst(), name.dropFirst())
            }
            return matched && matchComponent(after, name.dropFirst())
        default:
            return name.first == first && matchComponent(pattern.dropFirst(), name.dropFirst())
        }
    }

    /// A `[...]` set after its `[`: whether `byte` is in it, and the pattern after its `]`; nil
    /// when the set is not closed.
    private static func matchClass(_ set: ArraySlice<UInt8>, _ byte: UInt8) -> (Bool, ArraySlice<UInt8>)? {
        var rest = set
        let negated = rest.first == UInt8(ascii: "!") || rest.first == UInt8(ascii: "^")
        if negated { rest = rest.dropFirst() }
        var found = false
        var first = true
        while let current = rest.first {
            if current == UInt8(ascii: "]") && !first { return (found != negated, rest.dropFirst()) }
            first = false
            rest = rest.dropFirst()
            if rest.first == UInt8(ascii: "-"), rest.count >= 2,
                rest[rest.startIndex + 1] != UInt8(ascii: "]")
            {
                let upper = rest[rest.startIndex + 1]
                if current <= byte && byte <= upper { found = true }
                rest = rest.dropFirst(2)
            } else if current == byte {
                found = true
            }
        }
        return nil
    }
}
