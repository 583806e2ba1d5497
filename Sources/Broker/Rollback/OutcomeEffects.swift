import Logging

/// What follows a committed outcome (success, failure or cancel), wherever it was written: the
/// released builds to the build system, the events to Redis, the latest-version key, the end of
/// the project lock. Redis only holds what may be lost: a failure here is logged, and the lock
/// then expires by its TTL.
struct OutcomeEffects: Sendable {
    let relay: HeldBuildRelay
    let publisher: EventPublisher
    let lock: ProjectLock

    func apply(_ written: OutcomeRecorder.Written, projectID: String, epoch: Int64, logger: Logger) async {
        await relay.deliver(written.releasedBuilds)
        await publisher.publish(written.events)
        do {
            if let version = written.currentVersionID {
                _ = try await publisher.redis.command([
                    "SET", publisher.keys.latestVersion(project: projectID), version,
                ])
            }
            try await lock.release(project: projectID, epoch: epoch)
        } catch {
            logger.warning(
                "redis update after the outcome failed; the lock expires by its TTL",
                metadata: ["error": "\(error)"]
            )
        }
    }
}
