/// The bytes an HTTP request's signature covers (`spec/http-api.md`, "Signing requests"):
///
/// ```
/// rollback-http-v1\n<METHOD>\n<request target>\n<timestamp>\n<nonce>\n<body bytes as sent>
/// ```
///
/// The request target is the path and query exactly as sent (`/v1/jobs/j1?x=1`); the body is
/// never re-serialised, so any byte changed on the way breaks the signature. The nonce makes two
/// identical requests signed in the same second distinct, so a client's honest retry is never
/// mistaken for a replay.
public enum HTTPSigningInput {
    public static let prefix = "rollback-http-v1"

    public static func bytes(
        method: String,
        target: String,
        timestamp: Int64,
        nonce: String,
        body: some Collection<UInt8>
    ) -> [UInt8] {
        var out = Array("\(prefix)\n\(method.uppercased())\n\(target)\n\(timestamp)\n\(nonce)\n".utf8)
        out.append(contentsOf: body)
        return out
    }
}

/// The header names that carry an HTTP request's signature.
public enum HTTPSignatureHeader {
    public static let keyID = "Rollback-Key-Id"
    public static let timestamp = "Rollback-Timestamp"
    /// 16–64 characters from A–Z a–z 0–9 . _ ~ -, fresh for every request.
    public static let nonce = "Rollback-Nonce"
    /// `v1=<64 lower-case hex digits>`.
    public static let signature = "Rollback-Signature"
    public static let idempotencyKey = "Idempotency-Key"
}
