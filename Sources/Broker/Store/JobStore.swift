import Foundation
import Logging
import PostgresNIO

/// Reads of the `jobs` table for the API (the dispatcher's claims and writes are `JobQueue`).
enum JobStore {
    static func find(_ id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> JobRow? {
        let rows = try await connection.query(
            """
            SELECT id, project_id, version_id, target_version_id, host, state, epoch, attempts, progress_percent,
                phase, error_code, error_message, created_at, started_at, finished_at
            FROM jobs WHERE id = \(id)
            """,
            logger: logger
        )
        for try await row in rows { return try JobRow(row.makeRandomAccess()) }
        return nil
    }
}
