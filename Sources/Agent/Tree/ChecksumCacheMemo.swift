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
        /// Lines appended since `cache` was kept, recorded into it at the next use: right after
        /// an append, the sync that appended still holds the cache it loaded, and recording
        /// into a shared cache would copy all of it first.
        var appended: [(path: String, stamp: ChecksumCache.Stamp, crc: UInt32)] = []
    }

    private static let kept = Mutex<(entries: [String: Kept], clock: UInt64)>(([:], 0))

    /// The cache kept for `file`, if the file is still as it was then.
    static func cache(for file: String) -> ChecksumCache? {
        guard let now = FileSystem.info(file).map(ChecksumCache.Stamp.init) else { return nil }
        return kept.withLock { state in
            // Taken out while it changes, so that the kept cache is its storage's only holder.
            guard var entry = state.entries.removeValue(forKey: file), entry.stamp == now else { return nil }
            for line in entry.appended { entry.cache.record(line.path, stamp: line.stamp, crc: line.crc) }
            entry.appended = []
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

    /// Records that `lines` were appended to `file`, which had the stat data `before` and now
    /// has `after`; forgets it when what is kept is not the file as it was before.
    static func appended(
        _ lines: [(path: String, stamp: ChecksumCache.Stamp, crc: UInt32)],
        to file: String,
        before: ChecksumCache.Stamp?,
        after: ChecksumCache.Stamp?
    ) {
        kept.withLock { state in
            guard let before, let after, var entry = state.entries.removeValue(forKey: file),
                entry.stamp == before
            else {
                state.entries[file] = nil
                return
            }
            entry.stamp = after
            entry.appended += lines
            state.entries[file] = entry
        }
    }

    /// Forgets `file` (changed in a way not kept track of).
    static func forget(_ file: String) {
        _ = kept.withLock { $0.entries.removeValue(forKey: file) }
    }
}
