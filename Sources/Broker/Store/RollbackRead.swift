import Logging
import PostgresNIO
import RollbackProtocol

/// The read half of a rollback request, in one round trip: the project, the target version (of
/// any project), and the answer stored for the request's Idempotency-Key if there is one.
struct RollbackRead: Sendable {
    struct Stored: Sendable {
        var fingerprint: String
        var status: Int
        var body: String
    }

    var project: ProjectRow?
    var target: VersionRow?
    var stored: Stored?

    /// The project's and the target version's columns, built once: on the hot path of every
    /// rollback request, splitting and joining them each time was a measurable cost.
    private static let columns =
        ProjectStore.aliasedColumns("p") + ", " + ProjectStore.aliasedColumns("v", VersionStore.columns)

    /// `previous` resolved for a full rollback and for a preview-only one, built once.
    private static let previousFull = HistoryStore.previousExpression(skip: false)
    private static let previousSkip = HistoryStore.previousExpression(skip: true)
    private static func previous(skip: Bool) -> String { skip ? previousSkip : previousFull }

    static func load(
        _ request: RollbackRequest,
        idempotency: Idempotency?,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> RollbackRead {
        // `previous` is resolved here, in the same read as the project: the write's
        // compare-and-set on the epoch then guarantees the project has not changed since. When
        // nothing resolves, the join looks for the id `previous` itself, which no version may
        // have, and finds nothing.
        let resolved =
            request.targetVersionID == RollbackRequest.previous
            ? Self.previous(skip: request.skipWorkingDirectory ?? false) : "NULL"
        let rows = try await connection.query(
            """
            SELECT \(unescaped: Self.columns),
                k.fingerprint, k.response_status, k.response_body
            FROM projects p
            LEFT JOIN project_versions v ON v.id = coalesce(\(unescaped: resolved), \(request.targetVersionID))
            LEFT JOIN idempotency_keys k ON k.caller = \(idempotency?.caller) AND k.key = \(idempotency?.key)
                AND k.expires_at > now()
            WHERE p.id = \(request.projectID)
            """,
            logger: logger
        )
        for try await row in rows {
            let columns = row.makeRandomAccess()
            let project = try ProjectRow(columns, prefix: "p_")
            let target =
                try columns["v_id"].decode(String?.self) == nil ? nil : try VersionRow(columns, prefix: "v_")
            var stored: Stored?
            if let fingerprint = try columns["fingerprint"].decode(String?.self) {
                stored = Stored(
                    fingerprint: fingerprint,
                    status: try columns["response_status"].decode(Int.self),
                    body: try columns["response_body"].decode(String.self)
                )
            }
            return RollbackRead(project: project, target: target, stored: stored)
        }
        return RollbackRead()
    }
}
