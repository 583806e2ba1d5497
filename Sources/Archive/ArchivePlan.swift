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

    /// Only `chosen`, files and symlinks taken from this plan's items (what an in-place sync
    /// writes; looking its paths up in the whole plan was 10 ms at 100,000 entries).
    package func narrowed(to chosen: [Item]) -> ArchivePlan {
        ArchivePlan(items: chosen.filter { $0.kind != .directory })
    }

    /// Every directory the plan's tree has: its directory entries and every item's parents.
    package let directories: Set<String>

    private static func directories(of items: [Item]) -> Set<String> {
        var directories = Set<String>()
        // Archives list a directory's entries together: an item whose parent is the last one's
        // needs no work. On the contiguous UTF-8 bytes: the generic `UTF8View` algorithms (and
        // `lastIndex(of:)` on characters, which steps through grapheme clusters) were most of a
        // 100,000-entry plan's time.
        var lastParent: [UInt8] = []
        for item in items {
            if item.kind == .directory { directories.insert(item.path) }
            var path = item.path
            path.withUTF8 { bytes in
                guard var end = bytes.lastIndex(of: UInt8(ascii: "/")) else { return }
                let parent = UnsafeBufferPointer(rebasing: bytes[..<end])
                if parent.count == lastParent.count, parent.elementsEqual(lastParent) { return }
                lastParent = Array(parent)
                while directories.insert(String(decoding: bytes[..<end], as: UTF8.self)).inserted,
                    let slash = bytes[..<end].lastIndex(of: UInt8(ascii: "/"))
                {
                    end = slash
                }
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
        var entries: [ZipEntry] = []
        entries.reserveCapacity(count)
        for index in 0..<count { entries.append(try archive.entry(at: index)) }
        try self.init(entries: entries, limits: limits, symlinkTarget: archive.bytes)
    }

    /// Checks every one of `entries` (an archive's central directory, in order);
    /// `symlinkTarget` reads a symlink entry's target to check it.
    package init(
        entries: [ZipEntry],
        limits: ArchiveLimits,
        symlinkTarget: (ZipEntry) throws(ArchiveError) -> [UInt8]
    ) throws(ArchiveError) {
        let count = entries.count
        guard count <= limits.maxEntries else {
            throw .tooManyEntries(count: count, limit: limits.maxEntries)
        }
        var items: [Item] = []
        items.reserveCapacity(count)
        var seen = Set<String>()
        seen.reserveCapacity(count)
        var total: UInt64 = 0
        for entry in entries {
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
                try Self.checkSymlink(
                    path: path,
                    target: String(decoding: try symlinkTarget(entry), as: UTF8.self),
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
        var contiguous = name
        // One pass over contiguous bytes, no copies: this runs for every entry of every archive,
        // and the generic `UTF8View` algorithms were half of a 100,000-entry plan's time.
        let verdict = contiguous.withUTF8 { Self.check($0) }
        switch verdict {
        case .accepted(let length):
            return length == name.utf8.count
                ? name : String(decoding: name.utf8.prefix(length), as: UTF8.self)
        case .absolute: throw .absolutePath(entry: name)
        case .controlCharacter:
            throw .invalidName(entry: name, reason: "control character or backslash in the name")
        case .empty: throw .invalidName(entry: name, reason: "empty name")
        case .parentTraversal: throw .parentTraversal(entry: name)
        case .emptyComponent: throw .invalidName(entry: name, reason: "empty or '.' component")
        case .gitDirectory: throw .touchesGitDirectory(entry: name)
        }
    }

    /// What `normalise` finds in a name, in the order it reports it.
    private enum NameVerdict {
        /// Fine; the normalised path is the first `length` bytes (a trailing `/` dropped).
        case accepted(length: Int)
        case absolute, controlCharacter, empty, parentTraversal, emptyComponent, gitDirectory
    }

    private static func check(_ bytes: UnsafeBufferPointer<UInt8>) -> NameVerdict {
        let slash = UInt8(ascii: "/")
        let dot = UInt8(ascii: ".")
        if bytes.first == slash { return .absolute }
        for byte in bytes where byte < 0x20 || byte == 0x7f || byte == UInt8(ascii: "\\") {
            return .controlCharacter
        }
        let end = bytes.last == slash ? bytes.count - 1 : bytes.count
        guard end > 0 else { return .empty }
        var start = 0
        var inGit = false
        while true {
            var stop = start
            while stop < end, bytes[stop] != slash { stop += 1 }
            let length = stop - start
            if length == 2, bytes[start] == dot, bytes[start + 1] == dot { return .parentTraversal }
            if length == 0 || (length == 1 && bytes[start] == dot) { return .emptyComponent }
            if start == 0 {
                inGit =
                    length == 4 && bytes[0] == dot && bytes[1] == UInt8(ascii: "g")
                    && bytes[2] == UInt8(ascii: "i") && bytes[3] == UInt8(ascii: "t")
            }
            guard stop < end else { break }
            start = stop + 1
        }
        return inGit ? .gitDirectory : .accepted(length: end)
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
