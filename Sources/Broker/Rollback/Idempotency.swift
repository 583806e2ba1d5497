import Crypto
import Foundation
import HTTPTypes
import Logging
import PostgresNIO
import RollbackProtocol

/// `Idempotency-Key` handling. A stored answer is looked up with the request's first read; the
/// write (`rollback_record`, migration 2) claims the key with an advisory lock derived from
/// (caller, key) and looks again, so a second request with the key gets 409 while the first
/// runs, and the stored answer byte for byte (or 422 if its body differs) once it has committed.
/// Only successful answers are stored: a refused request may be retried with the same key.
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

    static func inFlight(_ key: String) -> APIError {
        APIError(
            .conflict,
            "idempotency_key_in_flight",
            "a request with this Idempotency-Key is still being processed; retry after it finishes",
            details: ["idempotencyKey": key]
        )
    }

    static func reused(_ key: String) -> APIError {
        APIError(
            .unprocessableContent,
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different request; use a new key for a new request",
            details: ["idempotencyKey": key]
        )
    }
}
