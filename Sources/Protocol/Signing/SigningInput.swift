/// The exact bytes that are MACed, fixed by `spec/protocol.md`, "Signing input":
///
/// ```
/// "rollback-rpc-v1" LF agentID LF kid LF ts LF nonce LF method LF id LF body
/// ```
///
/// `ts` is decimal without leading zeros; `id` is `n:<decimal>` or `s:<string>` for requests
/// and empty for notifications; `body` is the frame body byte for byte. Every field but the
/// body is a single line (enforced by `Tokens`), so the separators are unambiguous.
public enum SigningInput {
    public static let domain = "rollback-rpc-v1"

    public static func bytes(
        agentID: String,
        keyID: String,
        timestamp: Int64,
        nonce: String,
        method: String,
        id: RequestID?,
        body: [UInt8]
    ) -> [UInt8] {
        let head =
            [domain, agentID, keyID, String(timestamp), nonce, method, id?.signingForm ?? ""]
            .joined(separator: "\n") + "\n"
        var input = Array(head.utf8)
        input.reserveCapacity(input.count + body.count)
        input.append(contentsOf: body)
        return input
    }
}
