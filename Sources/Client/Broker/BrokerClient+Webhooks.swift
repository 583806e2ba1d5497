public import RollbackProtocol

extension BrokerClient {
    // MARK: Webhooks (admin keys)

    /// Subscribes a receiver; the answer holds the signing secret, once.
    public func createWebhook(_ request: CreateWebhookRequest) async throws(BrokerError) -> WebhookView {
        try await call("POST", "/v1/webhooks", body: request)
    }

    public func webhooks() async throws(BrokerError) -> WebhookList {
        try await call("GET", "/v1/webhooks")
    }

    public func webhook(_ id: String) async throws(BrokerError) -> WebhookView {
        try await call("GET", "/v1/webhooks/\(try PathSegment.id(id, field: "webhookID"))")
    }

    /// Deletes the subscription with its pending deliveries and log; answers it as it was.
    public func deleteWebhook(_ id: String) async throws(BrokerError) -> WebhookView {
        try await call("DELETE", "/v1/webhooks/\(try PathSegment.id(id, field: "webhookID"))")
    }

    /// Enables (pending deliveries resume at once, in order) or disables the subscription.
    public func setWebhook(_ id: String, enabled: Bool) async throws(BrokerError) -> WebhookView {
        try await call(
            "POST",
            "/v1/webhooks/\(try PathSegment.id(id, field: "webhookID"))/\(enabled ? "enable" : "disable")",
            body: [String: String]()
        )
    }

    /// The delivery log, newest first.
    public func webhookDeliveries(
        _ id: String,
        cursor: String? = nil,
        limit: Int? = nil
    ) async throws(BrokerError) -> WebhookDeliveryPage {
        let query = PathSegment.query([("cursor", cursor), ("limit", limit.map(String.init))])
        return try await call(
            "GET",
            "/v1/webhooks/\(try PathSegment.id(id, field: "webhookID"))/deliveries\(query)"
        )
    }
}
