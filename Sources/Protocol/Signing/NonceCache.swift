import Synchronization

/// Remembers nonces for as long as their timestamps stay inside the verifier's window; after
/// that the timestamp alone refuses a replay, so the nonce can be forgotten. Memory is bounded
/// by `capacity`: when full, new messages are refused rather than risking an accepted replay.
final class NonceCache: Sendable {
    private struct State {
        /// nonce → the last second at which it must still be remembered.
        var expiries: [String: Int64] = [:]
        /// expiry second → nonces expiring then, for cheap purging.
        var buckets: [Int64: [String]] = [:]
        var purgedThrough: Int64 = .min
    }

    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Records `nonce` until `expiry` (inclusive). Returns false when it is already recorded.
    func insert(_ nonce: String, expiry: Int64, now: Int64) throws(VerificationError) {
        try state.withLock { (state: inout State) throws(VerificationError) in
            if now > state.purgedThrough {
                Self.purge(&state, through: now - 1)
            }
            if let known = state.expiries[nonce], known >= now { throw .replayed(nonce: nonce) }
            guard state.expiries.count < capacity else { throw .replayCacheFull }
            state.expiries[nonce] = expiry
            state.buckets[expiry, default: []].append(nonce)
        }
    }

    var count: Int { state.withLock { $0.expiries.count } }

    private static func purge(_ state: inout State, through second: Int64) {
        for expiry in state.buckets.keys where expiry <= second {
            for nonce in state.buckets.removeValue(forKey: expiry) ?? [] where state.expiries[nonce] == expiry
            {
                state.expiries.removeValue(forKey: nonce)
            }
        }
        state.purgedThrough = second
    }
}
