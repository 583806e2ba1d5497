package import RollbackProtocol

/// Why an archive was refused. Every case that concerns one entry names it.
package enum ArchiveError: Error, Hashable, Sendable {
    case unreadable(String)
    case absolutePath(entry: String)
    case parentTraversal(entry: String)
    case invalidName(entry: String, reason: String)
    case duplicateEntry(entry: String)
    case symlinkEscapes(entry: String, target: String)
    case unsupportedType(entry: String, kind: String)
    case touchesGitDirectory(entry: String)
    case tooManyEntries(count: Int, limit: Int)
    case tooLarge(totalBytes: UInt64, limit: UInt64)
    case compressionRatio(entry: String, ratio: UInt64, limit: UInt64)
    case badCRC(entry: String)
    case sizeMismatch(entry: String)

    /// Stable reason, sent as `details.reason`.
    package var reason: String {
        switch self {
        case .unreadable: "archive_unreadable"
        case .absolutePath: "absolute_path"
        case .parentTraversal: "path_traversal"
        case .invalidName: "invalid_entry_name"
        case .duplicateEntry: "duplicate_entry"
        case .symlinkEscapes: "symlink_escapes"
        case .unsupportedType: "unsupported_entry_type"
        case .touchesGitDirectory: "git_directory_entry"
        case .tooManyEntries: "too_many_entries"
        case .tooLarge: "uncompressed_too_large"
        case .compressionRatio: "compression_ratio"
        case .badCRC: "bad_crc"
        case .sizeMismatch: "entry_size_mismatch"
        }
    }

    package var entry: String? {
        switch self {
        case .absolutePath(let entry), .parentTraversal(let entry), .invalidName(let entry, _),
            .duplicateEntry(let entry), .symlinkEscapes(let entry, _), .unsupportedType(let entry, _),
            .touchesGitDirectory(let entry), .compressionRatio(let entry, _, _), .badCRC(let entry),
            .sizeMismatch(let entry):
            entry
        case .unreadable, .tooManyEntries, .tooLarge: nil
        }
    }

    package var message: String {
        switch self {
        case .unreadable(let why): "the artifact is not a readable ZIP archive: \(why)"
        case .absolutePath(let entry): "entry \"\(entry)\" has an absolute path"
        case .parentTraversal(let entry): "entry \"\(entry)\" climbs out of the tree with '..'"
        case .invalidName(let entry, let why): "entry \"\(entry)\" has an unusable name: \(why)"
        case .duplicateEntry(let entry): "entry \"\(entry)\" appears more than once"
        case .symlinkEscapes(let entry, let target):
            "symlink \"\(entry)\" points outside the tree (\(target))"
        case .unsupportedType(let entry, let kind):
            "entry \"\(entry)\" is a \(kind), which is never extracted"
        case .touchesGitDirectory(let entry): "entry \"\(entry)\" would write into the project's .git"
        case .tooManyEntries(let count, let limit): "the archive has \(count) entries; the limit is \(limit)"
        case .tooLarge(let total, let limit): "the archive expands to \(total) bytes; the limit is \(limit)"
        case .compressionRatio(let entry, let ratio, let limit):
            "entry \"\(entry)\" expands \(ratio)x; the limit is \(limit)x (zip bomb?)"
        case .badCRC(let entry): "entry \"\(entry)\" fails its CRC check (corrupt archive)"
        case .sizeMismatch(let entry): "entry \"\(entry)\" does not expand to the size its header declares"
        }
    }

    package var rpcError: RPCError {
        var details = ["reason": reason]
        if let entry { details["entry"] = entry }
        return RPCError(.artifactRejected, message, details: details)
    }
}
