import Crypto
import Foundation
import HTTPTypes
import Logging
import PostgresNIO
import RollbackProtocol

/// `Idempotency-Key` handling, inside the request's own transaction.
///
/// While a request holds a key, its transaction holds an advisory lock derived from
/// (caller, key): a second request with the key cannot take it and gets 409 at once. Once the
/// first commits, its stored answer is there and the second gets it back byte for byte (or 422
/// if its body differs). Only successful answers are stored (by `RollbackService`, in the
/// statement that records the rollback): a refused request may be retried with the same key.
struct Idempotency: Sendable {
    static let maxKeyLength = 255

    let caller: String
    let key: String
    /// SHA-256 of the request's canonical form (path and sorted-key JSON).
    let fingerprint: String

    init(caller: String, key: String, fingerprint: String) {
        self.caller = caller
        self.key = key
        self.fingerprint = fingerprint
    }

    static func validate(key: String) throws(APIError) {
        guard !key.isEmpty, key.utf8.count <= maxKeyLength,
            key.unicodeScalars.allSatisfy({ $0.value >= 0x21 && $0.value <= 0x7e })
        else {
            throw APIError(
                .badRequest,
                "invalid_idempotency_key",
                "Idempotency-Key must be 1–\(maxKeyLength) printable ASCII characters without spaces",
                details: ["field": "Idempotency-Key"]
            )
        }
    }

    static func fingerprint(path: String, canonicalBody: [UInt8]) -> String {
        var hash = SHA256()
        hash.update(data: Array(path.utf8) + [0x0a])
        hash.update(data: canonicalBody)
        return Hex.encode(hash.finalize())
    }

    /// The advisory lock's 64-bit id: the first 8 bytes of SHA-256 over caller and key.
    var lockID: Int64 {
        let digest = Array(SHA256.hash(data: Array("idempotency\n\(caller)\n\(key)".utf8)))
        return digest.prefix(8).reduce(Int64(0)) { $0 << 8 | Int64($1) }
    }

    /// Claims the key for this transaction. Returns the stored answer for a replay.
    /// - Throws: 409 when another request holds the key, 422 when the key was used for a
    ///   different request.
    func claim(on connection: PostgresConnection, logger: Logger) async throws -> APIResponse? {
        var locked = false
        for try await value in try await connection.query(
            "SELECT pg_try_advisory_xact_lock(\(lockID))",
            logger: logger
        ).decode(Bool.self) {
            locked = value
        }
        guard locked else {
            throw APIError(
                .conflict,
                "idempotency_key_in_flight",
                "a request with this Idempotency-Key is still being processed; retry after it finishes",
                details: ["idempotencyKey": key]
            )
        }
        let rows = try await connection.query(
            """
            SELECT fingerprint, response_status, response_body FROM idempotency_keys
            WHERE caller = \(caller) AND key = \(key) AND expires_at > now()
            """,
            logger: logger
        )
        for try await (storedFingerprint, status, body) in rows.decode((String, Int, String).self) {
            guard storedFingerprint == fingerprint else {
                throw APIError(
                    .unprocessableContent,
                    "idempotency_key_reused",
                    "this Idempotency-Key was used for a different request; use a new key for a new request",
                    details: ["idempotencyKey": key]
                )
            }
            return APIResponse(
                status: HTTPResponse.Status(code: status),
                body: Array(body.utf8),
                headers: [(.init("Idempotent-Replayed")!, "true")]
            )
        }
        return nil
    }
}
