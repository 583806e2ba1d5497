/// The rules for the values that cross the wire, owned here and applied wherever a value
/// enters: by the broker when the web tier or the build system registers it, by the agent when
/// a `workdir.sync` carries it, by `rollbackctl` before it sends it. So a value the agent would
/// refuse is refused when it is registered, not after the preview has switched.
///
/// Each check returns nil when the value is valid, else the rule in words, ready to follow the
/// field's name in an error ("artifactSha256 must be 64 lower-case hex digits").
public enum WireRules {
    public static let idRule = "must be 1–128 characters from A–Z a–z 0–9 . _ ~ -, not starting with a dot"
    public static let projectIDRule =
        "must start with a letter or digit and hold at most 128 of A–Z a–z 0–9 _ -"
    public static let sha256Rule = "must be 64 lower-case hex digits"
    public static let sizeRule = "must be a positive number of bytes"
    public static let artifactURLRule = "must be an http, https or file URL of at most 2048 bytes"

    /// Version, job and user ids (`Identifiers.isValidID`).
    public static func id(_ value: String) -> String? {
        Identifiers.isValidID(value) ? nil : idRule
    }

    /// Project ids: one directory name under the agent's work root (`Identifiers.isValidProjectID`).
    public static func projectID(_ value: String) -> String? {
        Identifiers.isValidProjectID(value) ? nil : projectIDRule
    }

    /// An artifact's SHA-256: 64 lower-case hex digits (one spelling: the agent compares it with
    /// the digest it computes).
    public static func sha256(_ value: String) -> String? {
        value.utf8.count == 64 && Hex.decode(value) != nil ? nil : sha256Rule
    }

    /// An artifact's size: the agent refuses a download larger than it, so it must be known.
    public static func size(_ value: Int64) -> String? {
        value > 0 ? nil : sizeRule
    }

    /// Where the agent downloads an artifact from: `http`, `https` or `file` (on the build host).
    public static func artifactURL(_ value: String) -> String? {
        guard value.utf8.count <= 2048, let colon = value.firstIndex(of: ":") else { return artifactURLRule }
        let scheme = value[..<colon].lowercased()
        guard ["http", "https", "file"].contains(scheme), value[colon...].hasPrefix("://") else {
            return artifactURLRule
        }
        return nil
    }
}
