import Foundation

/// The CRC-32 of each file a sync left in a working directory, keyed by the file's stat data, so
/// the next sync can tell that a file is unchanged without reading it. Any change to a file
/// (an edit, a `touch`, a replacement) changes its ctime, so a stale entry is never trusted;
/// the file is then read and checked as before. Like git's index stat cache.
///
/// Stored as `<state>/crc/<projectID>.tsv`: `crc size mtime.s mtime.ns ctime.s ctime.ns inode path`
/// per line, tab-separated (entry names cannot hold control characters), after a `# base` line;
/// a path's last line wins, so a small change is appended rather than the file rewritten.
struct ChecksumCache: Sendable {
    struct Stamp: Sendable, Equatable {
        var size: UInt64
        var mtimeSeconds: Int
        var mtimeNanoseconds: Int
        var ctimeSeconds: Int
        var ctimeNanoseconds: Int
        var inode: UInt64

        init(_ info: FileSystem.Info) {
            size = info.size
            mtimeSeconds = info.mtimeSeconds
            mtimeNanoseconds = info.mtimeNanoseconds
            ctimeSeconds = info.ctimeSeconds
            ctimeNanoseconds = info.ctimeNanoseconds
            inode = UInt64(info.inode)
        }

        static let zero = Stamp(
            size: 0,
            mtimeSeconds: 0,
            mtimeNanoseconds: 0,
            ctimeSeconds: 0,
            ctimeNanoseconds: 0,
            inode: 0
        )

        private init(
            size: UInt64,
            mtimeSeconds: Int,
            mtimeNanoseconds: Int,
            ctimeSeconds: Int,
            ctimeNanoseconds: Int,
            inode: UInt64
        ) {
            self.size = size
            self.mtimeSeconds = mtimeSeconds
            self.mtimeNanoseconds = mtimeNanoseconds
            self.ctimeSeconds = ctimeSeconds
            self.ctimeNanoseconds = ctimeNanoseconds
            self.inode = inode
        }
    }

    private var entries: [String: (stamp: Stamp, crc: UInt32)] = [:]
    /// How many files it has a CRC for (about how many the tree has).
    var count: Int { entries.count }

    init() {}

    /// The cached CRC when `info` still describes the file it was computed for.
    func crc(for path: String, info: FileSystem.Info) -> UInt32? {
        guard let entry = entries[path], entry.stamp == Stamp(info) else { return nil }
        return entry.crc
    }

    mutating func record(_ path: String, info: FileSystem.Info, crc: UInt32) {
        record(path, stamp: Stamp(info), crc: crc)
    }

    mutating func record(_ path: String, stamp: Stamp, crc: UInt32) {
        entries[path] = (stamp, crc)
    }

    /// A cache of `crcs` with each file's stat data as it is now (missing files left out).
    static func stamped(_ crcs: [String: UInt32], in root: String) -> ChecksumCache {
        var cache = ChecksumCache()
        for (path, crc) in crcs {
            guard let info = FileSystem.info("\(root)/\(path)") else { continue }
            cache.record(path, info: info, crc: crc)
        }
        return cache
    }

    /// A cache of `crcs` with each file's stat data as `files` (a listing of the tree) has them.
    static func stamped(_ crcs: [String: UInt32], from files: [String: FileSystem.Info]) -> ChecksumCache {
        var cache = ChecksumCache()
        for (path, crc) in crcs {
            guard let info = files[path] else { continue }
            cache.record(path, info: info, crc: crc)
        }
        return cache
    }

    /// This cache with `removed` dropped and `crcs` recorded with their files' current stat data.
    func updated(
        removing removed: [String],
        recording crcs: [String: UInt32],
        in root: String
    ) -> ChecksumCache {
        var cache = self
        for path in removed { cache.entries[path] = nil }
        for (path, crc) in crcs {
            guard let info = FileSystem.info("\(root)/\(path)") else { continue }
            cache.record(path, info: info, crc: crc)
        }
        return cache
    }

    /// The cache in `file` (kept parsed between syncs for a large project: `ChecksumCacheMemo`).
    static func load(from file: String) -> ChecksumCache {
        if let kept = ChecksumCacheMemo.cache(for: file) { return kept }
        let before = FileSystem.info(file).map(Stamp.init)
        let cache = parse(file)
        // Kept only when the file did not change while it was read.
        if before != nil, FileSystem.info(file).map(Stamp.init) == before {
            ChecksumCacheMemo.keep(cache, for: file, stamp: before)
        }
        return cache
    }

    private static func parse(_ file: String) -> ChecksumCache {
        var cache = ChecksumCache()
        guard let data = FileManager.default.contents(atPath: file) else { return cache }
        cache.entries.reserveCapacity(data.count / 64)
        // Parsed as bytes: this runs before every sync, over every file of the project.
        data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            var position = 0
            while position < bytes.count {
                let end = bytes[position...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
                if let (path, stamp, crc) = parse(bytes[position..<end]) {
                    cache.entries[path] = (stamp, crc)
                }
                position = end + 1
            }
        }
        return cache
    }

    /// One line: seven numbers (`crc size mtime.s mtime.ns ctime.s ctime.ns inode`), then the path,
    /// tab-separated; nil for a line that is not so.
    private static func parse(
        _ line: Slice<UnsafeBufferPointer<UInt8>>
    ) -> (path: String, stamp: Stamp, crc: UInt32)? {
        var numbers: [Int] = []
        numbers.reserveCapacity(7)
        var index = line.startIndex
        while numbers.count < 7 {
            var value = 0
            var negative = false
            var digits = 0
            if index < line.endIndex, line[index] == UInt8(ascii: "-") {
                negative = true
                index += 1
            }
            while index < line.endIndex, line[index] >= UInt8(ascii: "0"), line[index] <= UInt8(ascii: "9") {
                let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times.addingReportingOverflow(Int(line[index] - UInt8(ascii: "0")))
                guard !overflow1, !overflow2 else { return nil }
                value = sum
                digits += 1
                index += 1
            }
            guard digits > 0, index < line.endIndex, line[index] == UInt8(ascii: "\t") else { return nil }
            numbers.append(negative ? -value : value)
            index += 1
        }
        guard let crc = UInt32(exactly: numbers[0]), let size = UInt64(exactly: numbers[1]),
            let inode = UInt64(exactly: numbers[6]), index < line.endIndex
        else { return nil }
        var stamp = Stamp.zero
        stamp.size = size
        stamp.mtimeSeconds = numbers[2]
        stamp.mtimeNanoseconds = numbers[3]
        stamp.ctimeSeconds = numbers[4]
        stamp.ctimeNanoseconds = numbers[5]
        stamp.inode = inode
        return (String(decoding: UnsafeBufferPointer(rebasing: line[index...]), as: UTF8.self), stamp, crc)
    }

    /// Writes the cache atomically (a torn file would only cost reads, but stays tidy). Its first
    /// line, `# base <bytes>`, is what `append` compares the file's growth with.
    func save(to file: String) {
        var text = ""
        text.reserveCapacity(entries.count * 96)
        for (path, entry) in entries { text += Self.line(path, entry.stamp, entry.crc) }
        let body = Array(text.utf8)
        let header = Array("# base \(body.count)\n".utf8)
        let temporary = "\(file).tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(header + body)) else {
            ChecksumCacheMemo.forget(file)
            return
        }
        guard rename(temporary, file) == 0 else {
            ChecksumCacheMemo.forget(file)
            return
        }
        ChecksumCacheMemo.keep(self, for: file, stamp: FileSystem.info(file).map(Stamp.init))
    }

    /// Records `crcs` with their files' current stat data by appending lines to `file` (the
    /// later line wins when it is loaded), so an in-place sync's update costs what it changed,
    /// not a rewrite of every project file's line. Entries of removed files are left: their
    /// stat data can never match a file created later (its ctime is newer). Once the appended
    /// lines outgrow the last full save, the file is rewritten instead.
    static func append(_ crcs: [String: UInt32], in root: String, to file: String) {
        guard !crcs.isEmpty else { return }
        if needsCompaction(file, adding: crcs.count * 96) {
            load(from: file).updated(removing: [], recording: crcs, in: root).save(to: file)
            return
        }
        let before = FileSystem.info(file).map(Stamp.init)
        var text = ""
        var lines: [(path: String, stamp: Stamp, crc: UInt32)] = []
        for (path, crc) in crcs {
            guard let stamp = FileSystem.info("\(root)/\(path)").map(Stamp.init) else { continue }
            text += line(path, stamp, crc)
            lines.append((path, stamp, crc))
        }
        let fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            ChecksumCacheMemo.forget(file)
            return
        }
        defer { close(fd) }
        // One write of whole lines: a crash leaves at most a torn last line, which `load` skips.
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var status = stat()
        let after = written == bytes.count && fstat(fd, &status) == 0 ? Stamp(.init(status)) : nil
        // The kept parse of the file, if it was the file as it was, follows it.
        ChecksumCacheMemo.appended(lines, to: file, before: before, after: after)
    }

    /// Whether appending `bytes` would take `file` past twice its last full save (or it has none).
    private static func needsCompaction(_ file: String, adding bytes: Int) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: file) else { return false }
        defer { try? handle.close() }
        guard let size = try? handle.seekToEnd(), (try? handle.seek(toOffset: 0)) != nil,
            let head = try? handle.read(upToCount: 32)
        else { return false }
        let firstLine = String(decoding: head.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
        guard firstLine.hasPrefix("# base "), let base = Int(firstLine.dropFirst(7)) else { return true }
        return Int(size) + bytes > 2 * base + 65_536
    }

    private static func line(_ path: String, _ s: Stamp, _ crc: UInt32) -> String {
        "\(crc)\t\(s.size)\t\(s.mtimeSeconds)\t\(s.mtimeNanoseconds)\t\(s.ctimeSeconds)\t\(s.ctimeNanoseconds)\t\(s.inode)\t\(path)\n"
    }
}
