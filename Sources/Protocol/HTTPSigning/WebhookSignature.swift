import Crypto

/// The `Rollback-Webhook-Signature` header of a webhook delivery: `t=<unix seconds>,v1=<hex>`,
/// where the hex is HMAC-SHA256, keyed with the subscription's secret (its UTF-8 bytes), of
/// `<t>.` followed by the raw request body. A receiver recomputes it over the body exactly as
/// received, compares in constant time, and refuses a `t` far from its clock (replays).
public enum WebhookSignature {
    public static let header = "Rollback-Webhook-Signature"

    /// The header value for `body` sent at `timestamp`.
    public static func sign(body: some Collection<UInt8>, secret: String, timestamp: Int64) -> String {
        let mac = HMAC<SHA256>.authenticationCode(
            for: input(body: body, timestamp: timestamp),
            using: SymmetricKey(data: Array(secret.utf8))
        )
        return "t=\(timestamp),v1=\(Hex.encode(mac))"
    }

    /// Whether `header` signs `body` with `secret` and its `t` is within `toleranceSeconds` of
    /// `now`. Any `v1=` element may match (a sender may list several during a secret rotation).
    public static func verify(
        header: String,
        body: some Collection<UInt8>,
        secret: String,
        now: Int64 = UnixTime.now(),
        toleranceSeconds: Int64 = 300
    ) -> Bool {
        var timestamp: Int64?
        var macs: [[UInt8]] = []
        for element in header.split(separator: ",") {
            let parts = element.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { return false }
            switch parts[0] {
            case "t": timestamp = Int64(parts[1])
            case "v1": if let mac = Hex.decode(parts[1]), mac.count == 32 { macs.append(mac) }
            default: continue
            }
        }
        guard let timestamp, abs(now - timestamp) <= toleranceSeconds else { return false }
        let input = input(body: body, timestamp: timestamp)
        let key = SymmetricKey(data: Array(secret.utf8))
        return macs.contains { HMAC<SHA256>.isValidAuthenticationCode($0, authenticating: input, using: key) }
    }

    private static func input(body: some Collection<UInt8>, timestamp: Int64) -> [UInt8] {
        Array("\(timestamp).".utf8) + Array(body)
    }
}
