import Logging
import PostgresNIO

/// A project event, written in the same transaction as the change it reports (so no event is
/// lost or invented), then published on Redis for live listeners.
struct EventRow: Sendable {
    var projectID: String
    var type: String
    var payload: [UInt8]

    /// Inserts the event and returns its id (the SSE event id).
    func insert(on connection: PostgresConnection, logger: Logger) async throws -> Int64 {
        let json = String(decoding: payload, as: UTF8.self)
        let rows = try await connection.query(
            "INSERT INTO events (project_id, type, payload) VALUES (\(projectID), \(type), \(json)::jsonb) RETURNING id",
            logger: logger
        )
        for try await id in rows.decode(Int64.self) { return id }
        return 0
    }
}
