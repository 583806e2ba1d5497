import Logging
import PostgresNIO
import RollbackProtocol

/// The `events` table: each project's event stream, gapless and in id order.
enum EventStore {
    /// Appends an event; returns it as stored.
    static func append(
        _ payload: some Encodable,
        type: RollbackEventType,
        project: String,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> StoredEvent? {
        let json = String(decoding: BrokerJSON.encode(payload), as: UTF8.self)
        for try await id in try await connection.query(
            "INSERT INTO events (project_id, type, payload) VALUES (\(project), \(type.rawValue), \(json)::jsonb) RETURNING id",
            logger: logger
        ).decode(Int64.self) {
            return StoredEvent(id: id, projectID: project, type: type.rawValue, payload: json)
        }
        return nil
    }

    /// The id of the project's newest event (0 when it has none): where a stream of only new
    /// events starts.
    static func latestID(of project: String, database: Database, logger: Logger) async throws -> Int64 {
        try await database.connection { connection in
            for try await id in try await connection.query(
                "SELECT coalesce(max(id), 0) FROM events WHERE project_id = \(project)",
                logger: logger
            ).decode(Int64.self) {
                return id
            }
            return 0
        }
    }

    /// Up to `limit` of the project's events after `id`, oldest first, each payload with `at`
    /// (when it was written, whole seconds in UTC) added.
    static func after(
        _ id: Int64,
        project: String,
        limit: Int = 200,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> [StoredEvent] {
        var events: [StoredEvent] = []
        for try await row in try await connection.query(
            """
            SELECT id, type,
                (payload || jsonb_build_object('at',
                    to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')))::text AS payload
            FROM events
            WHERE project_id = \(project) AND id > \(id)
            ORDER BY id LIMIT \(limit)
            """,
            logger: logger
        ) {
            let columns = row.makeRandomAccess()
            events.append(
                StoredEvent(
                    id: try columns["id"].decode(Int64.self),
                    projectID: project,
                    type: try columns["type"].decode(String.self),
                    payload: try columns["payload"].decode(String.self)
                )
            )
        }
        return events
    }
}
