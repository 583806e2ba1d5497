/// The phases of a sync, in order. Percent never goes back as phases advance.
public enum SyncPhase: String, Codable, Hashable, Sendable, CaseIterable {
    case accepted, downloading, verifying, extracting, swapping, committing, done
}

/// Where a job stands.
public enum JobState: String, Codable, Hashable, Sendable {
    /// Received, not yet started.
    case accepted
    case running
    case succeeded
    case failed
    case cancelled
    /// The agent stopped (crash, restart) while the job ran; the working directory is wholly
    /// the old or wholly the new tree, as `JobStatus.Result.result` says.
    case interrupted

    public var isTerminal: Bool {
        switch self {
        case .accepted, .running: false
        case .succeeded, .failed, .cancelled, .interrupted: true
        }
    }
}

/// Identifier rules for values that name things on the agent's disk. No path ever crosses the
/// wire: a project id becomes one directory name under the agent's root.
public enum Identifiers {
    /// `[A-Za-z0-9][A-Za-z0-9_-]{0,127}`: safe as a single path component.
    public static func isValidProjectID(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        guard (1...128).contains(bytes.count), isAlnum(bytes[0]) else { return false }
        return bytes.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    /// Job and version ids: 1–128 token characters `[A-Za-z0-9._~-]`, not starting with a dot.
    public static func isValidID(_ id: String) -> Bool {
        Tokens.isToken(id, length: 1...128) && !id.hasPrefix(".")
    }

    private static func isAlnum(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}
