import Logging

/// Fans stored events out through Redis `PUBLISH` (channel `<prefix>:events:<project>`) for
/// listeners outside the broker. Best effort: PostgreSQL holds every event, and the SSE stream
/// reads from there, so a lost publish loses nothing.
struct EventPublisher: Sendable {
    let redis: RedisClient
    let keys: RedisKeys
    let logger: Logger

    func publish(_ events: [StoredEvent]) async {
        guard !events.isEmpty else { return }
        do {
            _ = try await redis.commands(
                events.map { ["PUBLISH", keys.events(project: $0.projectID), $0.payload] }
            )
        } catch {
            logger.debug("event publish failed", metadata: ["error": "\(error)"])
        }
    }
}
