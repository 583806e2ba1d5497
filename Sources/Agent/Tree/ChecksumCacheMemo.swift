import Synchronization

/// Large projects' CRC caches, kept parsed between syncs: reading a 100,000-file project's
/// cache file took 75 ms before every sync, on the core the download and the archive's reading
/// also need. A kept cache is used only while its file is exactly as it was when kept (the same
/// inode, size, mtime and ctime); the agent's own writes keep it current, and anything else
/// that changes the file makes the next load read it again.
enum ChecksumCacheMemo {
    /// Smaller caches are read again each time: a few milliseconds.
    static let minimumEntries = 10_000
    /// How many files are kept; the one used longest ago goes first.
    static let capacity = 16

    private struct Kept {
        var stamp: ChecksumCache.Stamp
        var cache: ChecksumCache
        var lastUse: UInt64
    }

    private static let kept = Mutex<(entries: [String: Kept], clock: UInt64)>(([:], 0))

    /// The cache kept for `file`, if the file is still as it was then.
    static func cache(for file: String) -> ChecksumCache? {
        guard let now = FileSystem.info(file).map(ChecksumCache.Stamp.init) else { return nil }
        return kept.withLock { state in
            guard var entry = state.entries[file], entry.stamp == now else { return nil }
            state.clock += 1
            entry.lastUse = state.clock
            state.entries[file] = entry
            return entry.cache
        }
    }

    /// Keeps `cache` as the contents of `file`, whose stat data were `stamp` when it was read or
    /// written (nil: the file is not known, nothing is kept for it).
    static func keep(_ cache: ChecksumCache, for file: String, stamp: ChecksumCache.Stamp?) {
        kept.withLock { state in
            guard let stamp, cache.count >= minimumEntries else {
                state.entries[file] = nil
                return
            }
            state.clock += 1
            state.entries[file] = Kept(stamp: stamp, cache: cache, lastUse: state.clock)
            if state.entries.count > capacity,
                let oldest = state.entries.min(by: { $0.value.lastUse < $1.value.lastUse })?.key
            {
                state.entries[oldest] = nil
            }
        }
    }

    /// Forgets `file` (changed in a way not kept track of).
    static func forget(_ file: String) {
        _ = kept.withLock { $0.entries.removeValue(forKey: file) }
    }
}
