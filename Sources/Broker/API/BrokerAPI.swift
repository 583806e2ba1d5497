import HTTPTypes
public import Hummingbird
public import Logging
public import RollbackProtocol

/// The broker's HTTP API: every route, and what each needs. Routes are registered from
/// `BrokerAPI.routes`, the same table the tests compare with `spec/openapi.yaml`.
public struct BrokerAPI: Sendable {
    let database: Database
    let redis: RedisClient
    let keys: RedisKeys
    let settings: BrokerSettings
    let authenticator: RequestAuthenticator
    let rollbacks: RollbackService
    let projects: ProjectService
    let builds: BuildAdmissionService
    let publishing: PublishService
    let histories: HistoryService
    let freezes: FreezeService
    let previews: PreviewService
    let cancels: CancelService
    let webhooks: WebhookService
    let sessions: ConsoleSessions
    let keyStore: KeyStore
    let replayGuard: any ReplayGuard
    let rateLimiter: RateLimiter
    let buildSink: any BuildSink
    let audit: AuditLog
    let metrics: BrokerMetrics
    let changes: ChangeHub
    let logger: Logger

    public init(
        database: Database,
        redis: RedisClient,
        keys: RedisKeys,
        keyStore: KeyStore,
        settings: BrokerSettings,
        buildSink: (any BuildSink)? = nil,
        replayGuard: (any ReplayGuard)? = nil,
        metrics: BrokerMetrics = BrokerMetrics(prefix: "rollback"),
        agents: AgentDirectory = AgentDirectory([]),
        agentKeyring: Keyring? = nil,
        changes: ChangeHub = ChangeHub(),
        logger: Logger
    ) {
        self.metrics = metrics
        self.changes = changes
        self.database = database
        self.redis = redis
        self.keys = keys
        self.settings = settings
        self.logger = logger
        let audit = AuditLog(database: database, logger: logger)
        self.audit = audit
        let sessions = ConsoleSessions(redis: redis, keys: keys)
        let replayGuard = replayGuard ?? RedisReplayGuard(redis: redis, keys: keys)
        self.sessions = sessions
        self.keyStore = keyStore
        self.replayGuard = replayGuard
        self.authenticator = RequestAuthenticator(
            keys: keyStore,
            windowSeconds: settings.signatureWindowSeconds,
            replayGuard: replayGuard,
            audit: audit,
            maxBodyBytes: settings.maxBodyBytes,
            sessions: sessions
        )
        self.rollbacks = RollbackService(
            database: database,
            lock: ProjectLock(redis: redis, keys: keys),
            redis: redis,
            keys: keys,
            settings: settings,
            logger: logger
        )
        self.rateLimiter = RateLimiter(
            redis: redis,
            keys: keys,
            limit: settings.rateLimitPerUser,
            windowSeconds: settings.rateLimitWindowSeconds
        )
        let sink = buildSink ?? RedisStreamBuildSink(redis: redis, stream: keys.buildStream)
        self.buildSink = sink
        self.projects = ProjectService(database: database, logger: logger)
        self.builds = BuildAdmissionService(database: database, sink: sink, logger: logger)
        self.publishing = PublishService(database: database, logger: logger)
        self.histories = HistoryService(database: database, logger: logger)
        self.webhooks = WebhookService(database: database, logger: logger)
        let relay = HeldBuildRelay(database: database, sink: sink, logger: logger)
        let publisher = EventPublisher(redis: redis, keys: keys, logger: logger)
        self.freezes = FreezeService(database: database, relay: relay, publisher: publisher, logger: logger)
        let reach = AgentReach(directory: agents, keyring: agentKeyring, logger: logger)
        self.previews = PreviewService(database: database, agents: reach, audit: audit, logger: logger)
        self.cancels = CancelService(
            database: database,
            agents: reach,
            outcomes: OutcomeRecorder(database: database, logger: logger),
            effects: OutcomeEffects(
                relay: relay,
                publisher: publisher,
                lock: ProjectLock(redis: redis, keys: keys)
            ),
            logger: logger
        )
    }

    /// One route: method, path in OpenAPI form (`{id}`), handler.
    struct Route: Sendable {
        var method: HTTPRequest.Method
        var path: String
        var handler: @Sendable (BrokerAPI, Request, BasicRequestContext) async throws -> APIResponse
    }

    /// Every route the broker serves, as (method, OpenAPI path).
    public static var routeList: [(method: String, path: String)] {
        routes.map { ($0.method.rawValue, $0.path) }
    }

    static let routes: [Route] = [
        Route(method: .get, path: "/healthz") { api, _, _ in api.health() },
        Route(method: .get, path: "/readyz") { api, _, _ in await api.readiness() },
        Route(method: .get, path: "/metrics") { api, _, _ in api.metricsExposition() },
        Route(method: .post, path: "/v1/versions/rollback") { try await $0.rollback($1, $2) },
        Route(method: .post, path: "/v1/versions/rollback/preview") { try await $0.preview($1, $2) },
        Route(method: .post, path: "/v1/projects/{projectId}/rollback/cancel") {
            try await $0.cancelRollback($1, $2)
        },
        Route(method: .post, path: "/v1/versions/{versionId}/publish") { try await $0.publish($1, $2) },
        Route(method: .post, path: "/v1/projects") { try await $0.registerProject($1, $2) },
        Route(method: .get, path: "/v1/projects") { try await $0.projects($1, $2) },
        Route(method: .get, path: "/v1/projects/{projectId}") { try await $0.project($1, $2) },
        Route(method: .get, path: "/v1/projects/{projectId}/versions") { try await $0.versions($1, $2) },
        Route(method: .get, path: "/v1/projects/{projectId}/versions/previous") {
            try await $0.previousVersion($1, $2)
        },
        Route(method: .get, path: "/v1/projects/{projectId}/history") { try await $0.history($1, $2) },
        Route(method: .get, path: "/v1/audit") { try await $0.auditLog($1, $2) },
        Route(method: .post, path: "/v1/projects/{projectId}/freeze") { try await $0.freeze($1, $2) },
        Route(method: .post, path: "/v1/projects/{projectId}/unfreeze") { try await $0.unfreeze($1, $2) },
        Route(method: .post, path: "/v1/projects/{projectId}/settings") {
            try await $0.projectSettings($1, $2)
        },
        Route(method: .post, path: "/v1/projects/{projectId}/versions") {
            try await $0.registerVersion($1, $2)
        },
        Route(method: .post, path: "/v1/builds") { try await $0.admitBuild($1, $2) },
        Route(method: .get, path: "/v1/jobs/{jobId}") { try await $0.job($1, $2) },
        Route(method: .get, path: "/v1/projects/{projectId}/events") { try await $0.events($1, $2) },
        Route(method: .post, path: "/v1/webhooks") { try await $0.createWebhook($1, $2) },
        Route(method: .get, path: "/v1/webhooks") { try await $0.listWebhooks($1, $2) },
        Route(method: .get, path: "/v1/webhooks/{webhookId}") { try await $0.webhook($1, $2) },
        Route(method: .delete, path: "/v1/webhooks/{webhookId}") { try await $0.deleteWebhook($1, $2) },
        Route(method: .post, path: "/v1/webhooks/{webhookId}/enable") { try await $0.enableWebhook($1, $2) },
        Route(method: .post, path: "/v1/webhooks/{webhookId}/disable") {
            try await $0.disableWebhook($1, $2)
        },
        Route(method: .get, path: "/v1/webhooks/{webhookId}/deliveries") {
            try await $0.webhookDeliveries($1, $2)
        },
    ]

    /// Routes a dispatcher-only process serves: health and metrics, nothing that changes state.
    static let operationsPaths: Set<String> = ["/healthz", "/readyz", "/metrics"]

    /// Which routes a listener serves.
    public enum RouteSet: Sendable {
        /// Everything.
        case all
        /// `/healthz`, `/readyz`, `/metrics` (a dispatcher's listener, or the admin listener).
        case operations
        /// Everything but the operations routes (the API listener beside an admin listener).
        case api

        func contains(_ path: String) -> Bool {
            switch self {
            case .all: true
            case .operations: BrokerAPI.operationsPaths.contains(path)
            case .api: !BrokerAPI.operationsPaths.contains(path)
            }
        }
    }

    /// A router with every route (or only the operations routes) and the middleware.
    public func router(operationsOnly: Bool = false) -> Router<BasicRequestContext> {
        router(serving: operationsOnly ? .operations : .all)
    }

    /// A router with the routes of `routes` and the middleware.
    public func router(serving routes: RouteSet) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
        // A span per request (extracting an incoming `traceparent` needs a bootstrapped tracer;
        // without one this costs nothing).
        router.add(middleware: TracingMiddleware(recordingHeaders: [HTTPField.Name("X-Request-Id")!]))
        router.add(middleware: ErrorMiddleware(served: routes))
        if routes.contains("/console") { addConsoleRoutes(to: router) }
        for route in Self.routes where routes.contains(route.path) {
            // Hummingbird writes path parameters as `:name`.
            let path = route.path.replacingOccurrences(of: "{", with: ":").replacingOccurrences(
                of: "}",
                with: ""
            )
            router.on(RouterPath(path), method: route.method) { request, context in
                try await route.handler(self, request, context).response
            }
        }
        return router
    }

    /// Runs `body`; a refusal it throws gets an audit row (401s are audited where they happen;
    /// 5xx are outages, logged rather than audited).
    func audited(
        action: String,
        signed: SignedRequest,
        context: BasicRequestContext,
        _ body: (AuditSubject) async throws -> APIResponse
    ) async throws -> APIResponse {
        let subject = AuditSubject()
        do {
            return try await body(subject)
        } catch let error as APIError
            where (400..<500).contains(error.status.code) && error.status.code != 401
        {
            await audit.record(
                AuditEntry(
                    caller: signed.principal.caller,
                    keyID: signed.principal.keyID,
                    actor: subject.actor ?? signed.principal.boundActor,
                    action: action,
                    projectID: subject.projectID,
                    outcome: "refused",
                    statusCode: error.status.code,
                    reason: error.code,
                    details: error.details,
                    requestID: context.id
                )
            )
            throw error
        }
    }

    /// Applies the per-user rate limit.
    func limitRate(user: String) async throws {
        let decision: RateLimiter.Decision
        do {
            decision = try await rateLimiter.admit(user: user, now: UnixTime.now())
        } catch {
            throw APIError.redisUnavailable("\(error)")
        }
        if case .limited(let seconds) = decision {
            var error = APIError(
                .tooManyRequests,
                "rate_limited",
                "user \(user) sent more than \(rateLimiter.limit) requests in \(rateLimiter.windowSeconds) s; retry in \(seconds) s",
                details: ["retryAfterSeconds": String(seconds)]
            )
            error.headers = [(.retryAfter, String(seconds))]
            throw error
        }
    }
}

/// Who a request acted for and on which project, filled in by a handler as it learns them, so
/// that a refusal's audit row says as much as is known.
final class AuditSubject {
    var actor: String?
    var projectID: String?
}
