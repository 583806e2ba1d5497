import Foundation

/// For `--print-config`: the configured paths that do not exist, so an operator checking a
/// configuration hears about a typo before the daemon refuses to start.
public enum MissingPaths {
    /// One line per `(field, path)` whose path is set and absent: `workRoot /srv/x does not exist`.
    public static func warnings(_ paths: [(field: String, path: String)]) -> [String] {
        paths.compactMap { field, path in
            guard !path.isEmpty, !FileManager.default.fileExists(atPath: path) else { return nil }
            return "\(field) \(path) does not exist"
        }
    }
}
