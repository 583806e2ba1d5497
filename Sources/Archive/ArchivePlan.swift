package import RollbackProtocol

/// Limits an archive must stay within before anything is written.
public struct ArchiveLimits: Sendable, Hashable, Codable {
    public var maxEntries: Int
    public var maxUncompressedBytes: UInt64
    /// Largest accepted size / compressed size, for entries over 1 MiB.
    public var maxCompressionRatio: UInt64

    public init(
        maxEntries: Int = 200_000,
        maxUncompressedBytes: UInt64 = 8 << 30,
        maxCompressionRatio: UInt64 = 200
    ) {
        self.maxEntries = maxEntries
        self.maxUncompressedBytes = maxUncompressedBytes
        self.maxCompressionRatio = maxCompressionRatio
    }
}

/// What an archive will put into the tree, checked against every safety rule. Built from the
/// central directory alone, before a byte is extracted.
package struct ArchivePlan: Sendable {
    package enum Kind: Sendable, Hashable {
        case directory
        case file(executable: Bool)
        case symlink
    }

    package struct Item: Sendable {
        /// Normalised relative path, no trailing slash.
        package let path: String
        package let kind: Kind
        package let entry: ZipEntry
    }

    package let items: [Item]
    package var fileCount: Int { items.filter { if case .file = $0.kind { true } else { false } }.count }
    package var totalBytes: UInt64 { items.reduce(0) { $0 + $1.entry.size } }

    private static let ratioFloorBytes: UInt64 = 1 << 20

    private init(items: [Item]) {
        self.items = items
        self.directories = Self.directories(of: items)
    }

    /// The plan of a selective sync: only the files and symlinks `selection` selects
    /// (directories follow from their paths).
    package func selecting(_ selection: PathSelection) -> ArchivePlan {
        ArchivePlan(items: items.filter { $0.kind != .directory && selection.matches($0.path) })
    }

    /// Only the files and symlinks at `paths` (what an in-place sync writes).
    package func narrowed(to paths: Set<String>) -> ArchivePlan {
        ArchivePlan(items: items.filter { $0.kind != .directory && paths.contains($0.path) })
    }

    /// Every directory the plan's tree has: its directory entries and every item's parents.
    package let directories: Set<String>

    private static func directories(of items: [Item]) -> Set<String> {
        var directories = Set<String>()
        for item in items {
            if item.kind == .directory { directories.insert(item.path) }
            var parent = Substring(item.path)
            while let slash = parent.lastIndex(of: "/") {
                parent = parent[..<slash]
                guard directories.insert(String(parent)).inserted else { break }
            }
        }
        return directories
    }

    /// Checks every entry of `archive`; symlink targets are read (they are tiny) to check them.
    package init(archive: ZipArchive, limits: ArchiveLimits) throws(ArchiveError) {
        let count = archive.entryCount
        guard count <= limits.maxEntries else {
            throw .tooManyEntries(count: count, limit: limits.maxEntries)
        }
        var items: [Item] = []
        items.reserveCapacity(count)
        var seen = Set<String>()
        seen.reserveCapacity(count)
        var total: UInt64 = 0
        for index in 0..<count {
            let entry = try archive.entry(at: index)
            let isDirectoryName = entry.name.hasSuffix("/")
            let path = try Self.normalise(entry.name)
            guard seen.insert(path).inserted else { throw .duplicateEntry(entry: entry.name) }
            let kind = try Self.kind(of: entry, isDirectoryName: isDirectoryName)
            total += entry.size
            guard total <= limits.maxUncompressedBytes else {
                throw .tooLarge(totalBytes: total, limit: limits.maxUncompressedBytes)
            }
            if entry.size >= Self.ratioFloorBytes {
                let ratio = entry.size / max(entry.compressedSize, 1)
                if ratio > limits.maxCompressionRatio {
                    throw .compressionRatio(
                        entry: entry.name,
                        ratio: ratio,
                        limit: limits.maxCompressionRatio
                    )
                }
            }
            if kind == .symlink {
                guard entry.size <= 4096 else {
                    throw .invalidName(entry: entry.name, reason: "symlink target too long")
                }
                var target: [UInt8] = []
                try archive.read(entry) { target.append(contentsOf: $0) }
                try Self.checkSymlink(
                    path: path,
                    target: String(decoding: target, as: UTF8.self),
                    entryName: entry.name
                )
            }
            items.append(Item(path: path, kind: kind, entry: entry))
        }
        self.items = items
        self.directories = Self.directories(of: items)
        // A file and a directory (explicit or implied) with the same path cannot both exist.
        if let clash = items.first(where: { $0.kind != .directory && directories.contains($0.path) }) {
            throw .duplicateEntry(entry: clash.path)
        }
    }

    /// Relative, `/`-separated, no `.`/`..`/empty components, no NUL or backslash, not in `.git`.
    package static func normalise(_ name: String) throws(ArchiveError) -> String {
        if name.hasPrefix("/") { throw .absolutePath(entry: name) }
        // On the bytes: `String.contains` goes through Foundation, a tenth of a 100,000-entry plan.
        if name.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f || $0 == UInt8(ascii: "\\") }) {
            throw .invalidName(entry: name, reason: "control character or backslash in the name")
        }
        // One pass over the bytes, no copies: this runs for every entry of every archive.
        let bytes = name.utf8
        let trimmed = bytes.last == UInt8(ascii: "/") ? bytes.dropLast() : bytes[...]
        guard !trimmed.isEmpty else { throw .invalidName(entry: name, reason: "empty name") }
        var start = trimmed.startIndex
        var first = true
        var inGit = false
        while true {
            let end = trimmed[start...].firstIndex(of: UInt8(ascii: "/")) ?? trimmed.endIndex
            let component = trimmed[start..<end]
            if component.elementsEqual("..".utf8) { throw .parentTraversal(entry: name) }
            if component.isEmpty || component.elementsEqual(".".utf8) {
                throw .invalidName(entry: name, reason: "empty or '.' component")
            }
            if first { inGit = component.elementsEqual(".git".utf8) }
            first = false
            guard end < trimmed.endIndex else { break }
            start = trimmed.index(after: end)
        }
        if inGit { throw .touchesGitDirectory(entry: name) }
        return trimmed.count == bytes.count ? name : String(decoding: trimmed, as: UTF8.self)
    }

    private static func kind(of entry: ZipEntry, isDirectoryName: Bool) throws(ArchiveError) -> Kind {
        guard let mode = entry.unixMode, mode & 0o170000 != 0 else {
            return isDirectoryName ? .directory : .file(executable: false)
        }
        switch mode & 0o170000 {
        case 0o040000: return .directory
        case 0o100000:
            if isDirectoryName {
                throw .invalidName(entry: entry.name, reason: "a file named like a directory")
            }
            return .file(executable: mode & 0o111 != 0)
        case 0o120000: return .symlink
        case 0o020000: throw .unsupportedType(entry: entry.name, kind: "character device")
        case 0o060000: throw .unsupportedType(entry: entry.name, kind: "block device")
        case 0o010000: throw .unsupportedType(entry: entry.name, kind: "FIFO")
        case 0o140000: throw .unsupportedType(entry: entry.name, kind: "socket")
        default: throw .unsupportedType(entry: entry.name, kind: "file of unknown type")
        }
    }

    /// A symlink must be relative and, resolved from its own directory, stay inside the tree.
    package static func checkSymlink(path: String, target: String, entryName: String) throws(ArchiveError) {
        if target.isEmpty || target.hasPrefix("/") || target.utf8.contains(0) {
            throw .symlinkEscapes(entry: entryName, target: target)
        }
        var stack = path.split(separator: "/").dropLast().map(String.init)
        for component in target.split(separator: "/", omittingEmptySubsequences: true) {
            switch component {
            case ".": continue
            case "..":
                if stack.isEmpty { throw .symlinkEscapes(entry: entryName, target: target) }
                stack.removeLast()
            default: stack.append(String(component))
            }
        }
        if stack.first == ".git" { throw .symlinkEscapes(entry: entryName, target: target) }
    }
}
