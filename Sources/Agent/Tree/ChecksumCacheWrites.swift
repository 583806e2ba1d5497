import Synchronization

/// Orders the writes of each project's `ChecksumCache`. A sync writes the cache before it
/// answers, so the next sync can trust it at once; the clean-up after the answer may refresh it
/// later (stat data that the old tree's deletion changed). Since the next sync no longer waits
/// for that clean-up, a clean-up must not overwrite what a newer sync wrote or is changing: each
/// sync takes a new generation when it starts, and a write of an older generation is dropped.
final class ChecksumCacheWrites: Sendable {
    private let generations = Mutex<[String: UInt64]>([:])

    /// A sync of `projectID` starts: returns its generation.
    func begin(_ projectID: String) -> UInt64 {
        generations.withLock { generations in
            let next = (generations[projectID] ?? 0) + 1
            generations[projectID] = next
            return next
        }
    }

    /// Saves `cache` unless a newer sync of the project has begun. The check and the write are
    /// one step: a sync beginning meanwhile waits for the write, then sees it.
    func save(_ cache: ChecksumCache, to file: String, projectID: String, generation: UInt64) {
        generations.withLock { generations in
            guard generations[projectID] == generation else { return }
            cache.save(to: file)
        }
    }

    /// `ChecksumCache.append` of `crcs`, unless a newer sync of the project has begun.
    func append(
        _ crcs: [String: UInt32],
        in root: String,
        to file: String,
        projectID: String,
        generation: UInt64
    ) {
        generations.withLock { generations in
            guard generations[projectID] == generation else { return }
            ChecksumCache.append(crcs, in: root, to: file)
        }
    }
}
