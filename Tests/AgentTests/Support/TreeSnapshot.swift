import Crypto
import Foundation

/// Every path under a directory (including `.git`) with its type, mode and content hash, to show
/// that a refused sync left a working directory byte-for-byte unchanged.
struct TreeSnapshot: Equatable, CustomStringConvertible {
    let entries: [String: String]

    init(_ root: String, excludingGit: Bool = false) throws {
        var entries: [String: String] = [:]
        let manager = FileManager.default
        guard let enumerator = manager.enumerator(atPath: root) else {
            self.entries = [:]
            return
        }
        for case let relative as String in enumerator {
            if excludingGit && (relative == ".git" || relative.hasPrefix(".git/")) { continue }
            let path = "\(root)/\(relative)"
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                entries[relative] = "dir \(String(st.st_mode & 0o7777, radix: 8))"
            case S_IFLNK:
                entries[relative] = "link -> \(try manager.destinationOfSymbolicLink(atPath: path))"
            default:
                let data = try Data(contentsOf: URL(fileURLWithPath: path))
                entries[relative] =
                    "file \(String(st.st_mode & 0o7777, radix: 8)) \(SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined())"
            }
        }
        self.entries = entries
    }

    var description: String { "\(entries.count) entries" }

    /// Every path under `<root>/.git` with its inode, size and modification time to the
    /// nanosecond: a rewrite of the index (even with the same bytes) changes it.
    static func gitState(_ root: String) throws -> [String: String] {
        var state: [String: String] = [:]
        guard let enumerator = FileManager.default.enumerator(atPath: "\(root)/.git") else { return [:] }
        for case let relative as String in enumerator {
            var st = stat()
            guard lstat("\(root)/.git/\(relative)", &st) == 0 else { continue }
            state[relative] = "\(st.st_ino) \(st.st_size) \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)"
        }
        return state
    }

    /// Paths whose entry differs, for readable failures.
    func difference(from other: TreeSnapshot) -> [String] {
        Set(entries.keys).union(other.entries.keys).filter { entries[$0] != other.entries[$0] }.sorted()
    }
}
