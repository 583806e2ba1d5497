import Foundation
import Synchronization

/// The jobs a dispatcher is running now. A claim excludes them from rescue (their late
/// heartbeat is not a death) and rescues any other of its own whose lease ran out: one whose
/// outcome it could not write, which no other dispatcher of a one-dispatcher host would take.
final class RunningJobs: Sendable {
    private let ids = Mutex<Set<UUID>>([])

    var count: Int { ids.withLock { $0.count } }
    var all: [UUID] { ids.withLock { Array($0) } }

    func insert(_ id: UUID) { _ = ids.withLock { $0.insert(id) } }
    func remove(_ id: UUID) { _ = ids.withLock { $0.remove(id) } }
}
