import Foundation

/// The CRC-32 of each file a sync left in a working directory, keyed by the file's stat data, so
/// the next sync can tell that a file is unchanged without reading it. Any change to a file
/// (an edit, a `touch`, a replacement) changes its ctime, so a stale entry is never trusted;
/// the file is then read and checked as before. Like git's index stat cache.
///
/// Stored as `<state>/crc/<projectID>.tsv`: `crc size mtime.s mtime.ns ctime.s ctime.ns inode path`
/// per line, tab-separated (entry names cannot hold control characters).
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

        init?(fields: ArraySlice<Substring>) {
            let numbers = fields.compactMap { Int($0) }
            guard numbers.count == 6, let size = UInt64(exactly: numbers[0]),
                let inode = UInt64(exactly: numbers[5])
            else { return nil }
            self.size = size
            mtimeSeconds = numbers[1]
            mtimeNanoseconds = numbers[2]
            ctimeSeconds = numbers[3]
            ctimeNanoseconds = numbers[4]
            self.inode = inode
        }
    }

    private var entries: [String: (stamp: Stamp, crc: UInt32)] = [:]

    init() {}

    /// The cached CRC when `info` still describes the file it was computed for.
    func crc(for path: String, info: FileSystem.Info) -> UInt32? {
        guard let entry = entries[path], entry.stamp == Stamp(info) else { return nil }
        return entry.crc
    }

    mutating func record(_ path: String, info: FileSystem.Info, crc: UInt32) {
        entries[path] = (Stamp(info), crc)
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

    static func load(from file: String) -> ChecksumCache {
        var cache = ChecksumCache()
        guard let data = FileManager.default.contents(atPath: file) else { return cache }
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: "\t", maxSplits: 7, omittingEmptySubsequences: false)
            guard fields.count == 8, let crc = UInt32(fields[0]), let stamp = Stamp(fields: fields[1..<7])
            else { continue }
            cache.entries[String(fields[7])] = (stamp, crc)
        }
        return cache
    }

    /// Writes the cache atomically (a torn file would only cost reads, but stays tidy).
    func save(to file: String) {
        var text = ""
        text.reserveCapacity(entries.count * 96)
        for (path, entry) in entries {
            let s = entry.stamp
            text +=
                "\(entry.crc)\t\(s.size)\t\(s.mtimeSeconds)\t\(s.mtimeNanoseconds)\t\(s.ctimeSeconds)\t\(s.ctimeNanoseconds)\t\(s.inode)\t\(path)\n"
        }
        let temporary = "\(file).tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8)) else { return }
        rename(temporary, file)
    }
}
