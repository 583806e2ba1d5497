import Logging
import PostgresNIO

/// Hands released builds to the build sink after the outcome committed, then marks them
/// delivered. The release itself is a state change in the outcome's transaction (so it happens
/// exactly once); the hand-over is an outbox: a crash between commit and `XADD` leaves the row
/// `released` and undelivered, and `deliverPending` sends it later. The build system may thus
/// see a build twice after a crash, never zero times; the stream entry carries the build id to
/// deduplicate on.
struct HeldBuildRelay: Sendable {
    let database: Database
    let sink: any BuildSink
    let logger: Logger

    /// Delivers `builds` in order; stops at the first failure (order matters more than speed).
    func deliver(_ builds: [HeldBuild]) async {
        for build in builds {
            do {
                try await sink.submit(
                    projectID: build.projectID,
                    buildID: build.buildID,
                    payload: build.payload
                )
                let logger = self.logger
                try await database.connection { connection in
                    try await HeldBuildStore.markDelivered(build.id, on: connection, logger: logger)
                }
            } catch {
                logger.warning(
                    "could not hand a released build to the build system; it will be retried",
                    metadata: [
                        "project.id": "\(build.projectID)", "build.id": "\(build.buildID)",
                        "error": "\(error)",
                    ]
                )
                return
            }
        }
    }

    /// Sends released builds of projects on `hosts` that were never delivered (a crash after
    /// commit), oldest first. Scoped to the dispatcher's hosts, like its jobs.
    func deliverPending(hosts: [String], olderThanSeconds: Int = 30) async {
        let logger = self.logger
        let pending: [HeldBuild]
        do {
            pending = try await database.connection { connection in
                try await HeldBuildStore.undelivered(
                    hosts: hosts,
                    olderThanSeconds: olderThanSeconds,
                    on: connection,
                    logger: logger
                )
            }
        } catch {
            logger.debug("cannot look for undelivered builds", metadata: ["error": "\(error)"])
            return
        }
        await deliver(pending)
    }
}
