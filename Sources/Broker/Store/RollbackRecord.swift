import Logging
import PostgresNIO
import RollbackProtocol

/// The write half of a rollback request: one call of the PL/pgSQL function `rollback_record`
/// (migration 2, redefined with the history insert by migration 4: `Migrations.currentRollbackRecord`), so that claiming the Idempotency-Key, the
/// project's compare-and-set, the rollback version, the job, the `rollbackStarted` event, the
/// audit row and the stored answer are one round trip and one implicit transaction.
enum RollbackRecord {
    /// The function's one argument, a JSON object. The function reads each key as
    /// `r->>'<key>'` (text) or `r-><key>` (JSON); `RollbackRecordKeysTests` fails when the two
    /// sides disagree on a key. Optional keys are absent when nil (SQL NULL in the function).
    struct Arguments: Encodable, Sendable {
        /// Who signed the request; scopes the idempotency key and the audit row.
        var caller: String
        /// The Idempotency-Key, its request fingerprint and the advisory lock id derived from
        /// (caller, key); all absent without a key.
        var key: String?
        var fingerprint: String?
        var lockID: String?
        /// The new rollback version and what it copies from the target.
        var versionID: String
        var projectID: String
        var targetVersionID: String
        /// `syncing`, or `ready` with `skipWorkingDirectory`.
        var versionStatus: String
        var artifactURL: String?
        var artifactSHA256: String?
        var artifactSize: Int64?
        var previewURL: String
        var deploymentID: String?
        /// A selective rollback's paths (`PathSelection`); the version then has no preview URL.
        var only: [String]?
        /// The project's compare-and-set: the status it moves to, the epoch it must still hold,
        /// and the settled statuses it may move from.
        var newStatus: String
        var expectedEpoch: Int64
        var settled: [String]
        /// The job (absent with `skipWorkingDirectory`) and what a failure restores.
        var jobID: String?
        var host: String
        var previousVersionID: String?
        var previousPreviewURL: String?
        var previousStatus: String
        var userID: String
        var traceParent: String?
        /// The `rollbackStarted` event's payload.
        var event: RollbackStartedEvent
        /// The audit row.
        var auditAction: String
        var reason: String?
        var auditDetails: [String: String]
        var requestID: String
        /// The answer stored for the key, and how long it is kept.
        var response: String
        var ttlSeconds: Int

        enum CodingKeys: String, CodingKey {
            case caller
            case key
            case fingerprint
            case lockID = "lockId"
            case versionID = "versionId"
            case projectID = "projectId"
            case targetVersionID = "targetVersionId"
            case versionStatus
            case artifactURL = "artifactUrl"
            case artifactSHA256 = "artifactSha256"
            case artifactSize
            case previewURL = "previewUrl"
            case deploymentID = "deploymentId"
            case only
            case newStatus
            case expectedEpoch
            case settled
            case jobID = "jobId"
            case host
            case previousVersionID = "previousVersionId"
            case previousPreviewURL = "previousPreviewUrl"
            case previousStatus
            case userID = "userId"
            case traceParent
            case event
            case auditAction
            case reason
            case auditDetails
            case requestID = "requestId"
            case response
            case ttlSeconds
        }
    }

    /// What the function answered: `accepted` (with the new epoch), `in_flight`, `replay` (with
    /// the stored answer), `reused`, or `busy` (the compare-and-set matched nothing).
    struct Outcome: Sendable {
        var outcome: String
        var storedStatus: Int?
        var storedBody: String?
        var newEpoch: Int64?
    }

    /// Calls the function in the statement's own transaction, stamped with the signing key
    /// (`rollback.key_id`, read by the audit row's and history entry's `key_id` default). The
    /// function's argument refers to the stamp's row (LATERAL), which makes PostgreSQL set it
    /// before the function runs: one round trip still.
    static func write(
        _ arguments: Arguments,
        keyID: String,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Outcome? {
        let json = String(decoding: BrokerJSON.encode(arguments), as: UTF8.self)
        let rows = try await connection.query(
            """
            SELECT outcome, stored_status, stored_body, new_epoch
            FROM (SELECT set_config('rollback.key_id', \(keyID), true) AS key_id) stamp,
                LATERAL rollback_record(CASE WHEN stamp.key_id IS NOT NULL THEN \(json)::jsonb END)
            """,
            logger: logger
        )
        var outcome: Outcome?
        for try await row in rows {
            let columns = row.makeRandomAccess()
            if outcome == nil {
                outcome = Outcome(
                    outcome: try columns["outcome"].decode(String.self),
                    storedStatus: try columns["stored_status"].decode(Int?.self),
                    storedBody: try columns["stored_body"].decode(String?.self),
                    newEpoch: try columns["new_epoch"].decode(Int64?.self)
                )
            }
        }
        return outcome
    }
}
