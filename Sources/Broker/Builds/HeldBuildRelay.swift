import Logging
import PostgresNIO

/// A build held while its project was rolling back.
struct HeldBuild: Sendable, Hashable {
    var id: Int64
    var projectID: String
    var buildID: String
    var payload: String?
}

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
                _ = try await database.connection { connection in
                    try await connection.query(
                        "UPDATE held_builds SET delivered_at = now() WHERE id = \(build.id)",
                        logger: logger
                    )
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
                var builds: [HeldBuild] = []
                for try await (id, project, build, payload) in try await connection.query(
                    """
                    SELECT b.id, b.project_id, b.build_id, b.payload FROM held_builds b
                    JOIN projects p ON p.id = b.project_id
                    WHERE b.state = 'released' AND b.delivered_at IS NULL AND p.host = ANY(\(hosts))
                        AND b.settled_at < now() - make_interval(secs => \(olderThanSeconds))
                    ORDER BY b.id LIMIT 100
                    """,
                    logger: logger
                ).decode((Int64, String, String, String?).self) {
                    builds.append(HeldBuild(id: id, projectID: project, buildID: build, payload: payload))
                }
                return builds
            }
        } catch {
            logger.debug("cannot look for undelivered builds", metadata: ["error": "\(error)"])
            return
        }
        await deliver(pending)
    }
}
