import Logging
import PostgresNIO

/// A build held while its project was rolling back.
struct HeldBuild: Sendable, Hashable {
    var id: Int64
    var projectID: String
    var buildID: String
    var payload: String?
}

/// The `held_builds` table: builds held during a rollback, then released or purged by the
/// outcome (`OutcomeRecorder`), and handed over by `HeldBuildRelay`.
enum HeldBuildStore {
    /// Holds a build (once per project and build id).
    static func hold(
        projectID: String,
        buildID: String,
        payload: String?,
        epoch: Int64,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        try await connection.query(
            """
            INSERT INTO held_builds (project_id, build_id, payload, epoch)
            VALUES (\(projectID), \(buildID), \(payload), \(epoch))
            ON CONFLICT (project_id, build_id) DO NOTHING
            """,
            logger: logger
        )
    }

    /// Marks every held build of the project `state` (`released` or `purged`), returning them in
    /// arrival order.
    static func settle(
        projectID: String,
        state: String,
        reason: String,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> [HeldBuild] {
        var builds: [HeldBuild] = []
        for try await row in try await connection.query(
            """
            UPDATE held_builds SET state = \(state), reason = \(reason), settled_at = now()
            WHERE project_id = \(projectID) AND state = 'held'
            RETURNING id, project_id, build_id, payload
            """,
            logger: logger
        ) {
            builds.append(try HeldBuild(row.makeRandomAccess()))
        }
        return builds.sorted { $0.id < $1.id }
    }

    /// The build a selective rollback requests of the working directory's new state, written
    /// with its outcome: released at once (an outbox row the relay hands over), or held while
    /// the project is frozen. Returns it when released.
    static func requestRebuild(
        projectID: String,
        rollbackVersionID: String,
        payload: String,
        epoch: Int64,
        frozen: Bool,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> HeldBuild? {
        let state = frozen ? "held" : "released"
        for try await row in try await connection.query(
            """
            INSERT INTO held_builds (project_id, build_id, payload, epoch, state, reason, settled_at)
            VALUES (\(projectID), \("rebuild-" + rollbackVersionID), \(payload), \(epoch), \(state),
                \("selective rollback " + rollbackVersionID + " committed"), CASE WHEN \(frozen) THEN NULL ELSE now() END)
            ON CONFLICT (project_id, build_id) DO NOTHING
            RETURNING id, project_id, build_id, payload
            """,
            logger: logger
        ) {
            return frozen ? nil : try HeldBuild(row.makeRandomAccess())
        }
        return nil
    }

    static func markDelivered(_ id: Int64, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            "UPDATE held_builds SET delivered_at = now() WHERE id = \(id)",
            logger: logger
        )
    }

    /// Released builds of projects on `hosts` never handed over (a crash after commit), oldest
    /// first, settled at least `olderThanSeconds` ago.
    static func undelivered(
        hosts: [String],
        olderThanSeconds: Int,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> [HeldBuild] {
        var builds: [HeldBuild] = []
        for try await row in try await connection.query(
            """
            SELECT b.id, b.project_id, b.build_id, b.payload FROM held_builds b
            JOIN projects p ON p.id = b.project_id
            WHERE b.state = 'released' AND b.delivered_at IS NULL AND p.host = ANY(\(hosts))
                AND b.settled_at < now() - make_interval(secs => \(olderThanSeconds))
            ORDER BY b.id LIMIT 100
            """,
            logger: logger
        ) {
            builds.append(try HeldBuild(row.makeRandomAccess()))
        }
        return builds
    }
}

extension HeldBuild {
    init(_ row: PostgresRandomAccessRow) throws {
        id = try row["id"].decode(Int64.self)
        projectID = try row["project_id"].decode(String.self)
        buildID = try row["build_id"].decode(String.self)
        payload = try row["payload"].decode(String?.self)
    }
}
