import RollbackArchive

/// An artifact through libzip (opened as the agent opens it, local headers checked) and the
/// archive planner, then every planned entry read as the extractor reads it. Small limits, so
/// the fuzzer reaches them. Properties, checked independently of the planner's own code:
/// - every planned path is relative, has no empty, `.` or `..` component, no control character
///   or backslash, and is not inside `.git`;
/// - no path is planned twice, and no path is both a file and a directory;
/// - the plan's directories are exactly the directory entries and every entry's parents;
/// - every symlink's target, resolved from its directory, stays inside the tree and out of `.git`;
/// - the planned sizes stay within the limits, and every entry read yields exactly its size;
/// - the Swift reading of the central directory (`ZipDirectory`) agrees with libzip's.
enum ArchivePlanCheck {
    static let limits = ArchiveLimits(maxEntries: 256, maxUncompressedBytes: 1 << 20, maxCompressionRatio: 50)

    static func run(_ input: [UInt8]) -> Bool {
        checkDirectoryReading(input)
        guard let archive = try? ZipArchive(bytes: input),
            let plan = try? ArchivePlan(archive: archive, limits: limits)
        else { return false }
        require(plan.items.count <= limits.maxEntries, "more entries than the limit")
        require(plan.totalBytes <= limits.maxUncompressedBytes, "more bytes than the limit")
        var seen = Set<String>()
        for item in plan.items {
            checkPath(item.path)
            require(seen.insert(item.path).inserted, "\(item.path) planned twice")
        }
        let directories = plan.directories
        // The directories, found the plain way: the directory items and every item's parents.
        var parents = Set<String>()
        for item in plan.items {
            if item.kind == .directory { parents.insert(item.path) }
            let components = item.path.split(separator: "/")
            for end in components.indices.dropLast() {
                parents.insert(components[...end].joined(separator: "/"))
            }
        }
        require(directories == parents, "the planned directories are not the items' parents")
        for item in plan.items where item.kind != .directory {
            require(!directories.contains(item.path), "\(item.path) is both a file and a directory")
        }
        var everyEntryRead = true
        for item in plan.items where item.kind != .directory {
            var bytes: [UInt8] = []
            do {
                try archive.read(item.entry) { bytes.append(contentsOf: $0) }
            } catch {
                everyEntryRead = false
                continue  // refused while reading (bad CRC, a size that lies): the sync fails cleanly
            }
            require(
                UInt64(bytes.count) == item.entry.size,
                "\(item.path) read \(bytes.count) of \(item.entry.size) bytes"
            )
            if item.kind == .symlink { checkSymlink(item.path, target: bytes) }
        }
        return everyEntryRead
    }

    /// Where `ZipDirectory` takes an archive and libzip opens it too (without its consistency
    /// pass, as the agent opens it beside the plan), both read the same entries. (Where libzip
    /// refuses it, a sync fails reading its entries: no differential reaches the tree.)
    private static func checkDirectoryReading(_ input: [UInt8]) {
        guard let listed = ZipDirectory.entries(in: input),
            let archive = try? ZipArchive(bytes: input, checkConsistency: false)
        else { return }
        require(
            archive.entryCount == listed.count,
            "libzip counts \(archive.entryCount), ZipDirectory \(listed.count)"
        )
        for entry in listed {
            let theirs = try? archive.entry(at: Int(entry.index))
            // Equal names by their bytes: `==` on strings is Unicode equivalence.
            require(
                theirs == entry && theirs.map { Array($0.name.utf8) } == Array(entry.name.utf8),
                "entry \(entry.index): ZipDirectory \(entry), libzip \(String(describing: theirs))"
            )
        }
    }

    private static func checkPath(_ path: String) {
        require(!path.hasPrefix("/"), "absolute path \(path)")
        require(
            !path.utf8.contains { $0 < 0x20 || $0 == 0x7f || $0 == UInt8(ascii: "\\") },
            "bad byte in \(path)"
        )
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        for component in components {
            require(!component.isEmpty && component != "." && component != "..", "bad component in \(path)")
        }
        require(components.first != ".git", "\(path) is inside .git")
    }

    private static func checkSymlink(_ path: String, target bytes: [UInt8]) {
        let target = String(decoding: bytes, as: UTF8.self)
        require(
            !target.hasPrefix("/") && !bytes.contains(0) && !target.isEmpty,
            "symlink \(path) -> \(target)"
        )
        var depth: [Substring] = path.split(separator: "/").dropLast()
        for component in target.split(separator: "/") where component != "." {
            if component == ".." {
                require(!depth.isEmpty, "symlink \(path) -> \(target) escapes the tree")
                depth.removeLast()
            } else {
                depth.append(component)
            }
        }
        require(depth.first != ".git", "symlink \(path) -> \(target) points into .git")
    }
}
