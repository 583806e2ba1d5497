import Foundation
import RollbackClient
import RollbackProtocol

/// POSTs one signed delivery to a receiver and says how it went. A 2xx answer within the
/// timeout is a delivery; anything else (another status, a redirect — not followed, a refused
/// or silent connection) is a failure with a one-line reason for the delivery log.
struct WebhookSender: Sendable {
    let timeout: Duration
    /// For `https://` receivers: the system's trust store, full verification.
    let tls: ClientTLS?

    init(timeout: Duration) {
        self.timeout = timeout
        self.tls = try? ClientTLS()
    }

    struct Failure: Error, Sendable {
        /// The receiver's status, when it answered.
        var status: Int?
        var message: String
    }

    /// The parts of a subscription URL a request needs.
    struct Target: Sendable, Equatable {
        var secure: Bool
        var host: String
        var port: Int
        /// Path and query, as on the request line.
        var requestTarget: String

        /// Parses an `http://` or `https://` URL with a host; nil for anything else.
        init?(url: String) {
            guard let components = URLComponents(string: url),
                let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
                let host = components.host, !host.isEmpty, components.user == nil, components.password == nil
            else { return nil }
            secure = scheme == "https"
            self.host = host
            port = components.port ?? (secure ? 443 : 80)
            let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
            requestTarget = path + (components.percentEncodedQuery.map { "?\($0)" } ?? "")
        }
    }

    /// Sends `head` of `subscription`, signed with its secret at `now`.
    func send(
        _ head: WebhookStore.Head,
        to subscription: WebhookStore.Claimed,
        now: Int64 = UnixTime.now()
    ) async -> Result<Int, Failure> {
        guard let target = Target(url: subscription.url) else {
            return .failure(Failure(message: "the URL is not http:// or https:// with a host"))
        }
        if target.secure && tls == nil {
            return .failure(Failure(message: "TLS could not be set up in this broker for https receivers"))
        }
        let body = Array(head.body.utf8)
        let headers: [(name: String, value: String)] = [
            (
                WebhookSignature.header,
                WebhookSignature.sign(body: body, secret: subscription.secret, timestamp: now)
            ),
            ("Rollback-Webhook-Id", subscription.id.uuidString.lowercased()),
            ("Rollback-Event-Id", String(head.eventID)),
            ("Rollback-Event-Type", head.eventType),
            ("Rollback-Delivery-Id", String(head.deliveryID)),
            ("Rollback-Delivery-Attempt", String(head.attempts + 1)),
            ("User-Agent", "rollback-broker"),
            ("Connection", "close"),
        ]
        let timeout = self.timeout
        do {
            let status = try await HTTP1Connection.request(
                host: target.host,
                port: target.port,
                tls: target.secure ? tls : nil,
                maxBodyBytes: 64 << 10,
                timeout: timeout,
                method: "POST",
                target: target.requestTarget,
                headers: headers,
                body: body
            ).status
            guard (200..<300).contains(status) else {
                return .failure(
                    Failure(
                        status: status,
                        message: (300..<400).contains(status)
                            ? "the receiver answered \(status) (redirects are not followed)"
                            : "the receiver answered \(status)"
                    )
                )
            }
            return .success(status)
        } catch let error as HTTP1ClientError where error.code == .timedOut {
            return .failure(Failure(message: "no answer within \(timeout)"))
        } catch {
            return .failure(Failure(message: "cannot reach \(target.host):\(target.port): \(error)"))
        }
    }
}
