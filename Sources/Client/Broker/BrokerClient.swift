public import Foundation
public import RollbackProtocol
import RollbackRuntime

/// The broker's HTTP API for Swift tools (`spec/openapi.yaml`): every request signed
/// (`spec/http-api.md`), typed requests and answers, typed errors (``BrokerError``), and retries
/// of network failures and 503s. Every call is safe to repeat: a rollback carries an
/// `Idempotency-Key` that stays the same across its retries, and the other writes are idempotent
/// by their ids.
///
/// ```swift
/// let broker = try BrokerClient(url: "http://127.0.0.1:8080", keyringFile: "broker-keyring.json")
/// let accepted = try await broker.rollback(
///     RollbackRequest(userId: "alice", projectId: "shop", targetVersionId: "v41"))
/// let outcome = try await broker.waitForRollback(accepted) { print("\($0.percent)%") }
/// ```
public struct BrokerClient: Sendable {
    public let host: String
    public let port: Int
    public let signer: HTTPRequestSigner
    /// Set for an `https://` URL.
    public let tls: ClientTLS?
    /// Attempts per call (1 = no retry).
    public var maxAttempts = 4
    /// Delay before the first retry; doubled each time.
    public var retryDelay: Duration = .milliseconds(200)
    /// How long one attempt may take, from connecting to the answer's last byte. Past it the
    /// call fails with code `timeout` and is not retried: the broker took the request and may
    /// still be working on it (a preview waits for the host's agent, a cancel for the job), so
    /// sending it again would only queue more of the same. Event streams have no overall limit,
    /// only ``streamIdleLimit``.
    public var requestTimeout: Duration = .seconds(60)
    /// How long an event stream may stay silent before its connection is given up and reopened
    /// with `Last-Event-ID`: the broker sends a keep-alive every 15 s, so silence three times
    /// that long means the connection died without a word (a half-open TCP connection).
    public var streamIdleLimit: Duration = .seconds(45)

    /// - Parameters:
    ///   - url: `http://host:port` or `https://host:port` of the broker. A URL with a path is
    ///     refused: requests are signed over the path as sent, so a prefix that a proxy strips
    ///     would break every signature.
    ///   - key: the key this client signs with; the broker's keyring holds the same id and secret.
    ///   - caFile: for `https://`, a PEM file of the CA certificates to trust instead of the
    ///     system's trust store.
    public init(url: String, key: SigningKey, caFile: String? = nil) throws(BrokerError) {
        func refuse(_ why: String) -> BrokerError {
            BrokerError(status: nil, code: "invalid_url", message: "\(url): \(why)")
        }
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased() else {
            throw refuse("not a URL; expected http://host:port or https://host:port")
        }
        guard scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty else {
            throw refuse("expected http://host:port or https://host:port")
        }
        guard components.path.isEmpty || components.path == "/", components.query == nil else {
            throw refuse(
                "a path or query (\(components.path)) is not supported: requests are signed over the path as sent, so a prefix would break every signature; give \(scheme)://host:port"
            )
        }
        if scheme == "https" {
            do {
                tls = try ClientTLS(caFile: caFile)
            } catch {
                throw BrokerError(status: nil, code: "invalid_argument", message: error.message)
            }
        } else {
            tls = nil
        }
        self.host = host
        self.port = components.port ?? (scheme == "https" ? 443 : 80)
        self.signer = HTTPRequestSigner(key: key)
    }

    /// Signs with the active key of a keyring file (`{"keys":[{"id","secret"}],"active"}`, mode 600).
    public init(url: String, keyringFile: String, caFile: String? = nil) throws {
        self = try BrokerClient(url: url, key: try KeyringFile.load(keyringFile).activeKey, caFile: caFile)
    }

    /// `http://host:port` or `https://host:port`.
    public var baseURL: String { "\(tls == nil ? "http" : "https")://\(host):\(port)" }

    // MARK: Rollbacks

    /// `POST /v1/versions/rollback`. Retried with the same `idempotencyKey`, so the rollback
    /// happens at most once however many times the network fails.
    public func rollback(
        _ request: RollbackRequest,
        idempotencyKey: String = UUID().uuidString.lowercased()
    ) async throws(BrokerError) -> RollbackAccepted {
        try await call("POST", "/v1/versions/rollback", body: request, idempotencyKey: idempotencyKey)
    }

    /// `POST /v1/versions/{versionId}/publish`.
    public func publish(versionID: String, userID: String) async throws(BrokerError) -> VersionView {
        try await call(
            "POST",
            "/v1/versions/\(try PathSegment.id(versionID, field: "versionID"))/publish",
            body: PublishRequest(userID: userID)
        )
    }

    /// `POST /v1/projects/{projectId}/freeze`: new builds are held until `unfreeze`.
    public func freeze(
        projectID: String,
        userID: String,
        reason: String
    ) async throws(BrokerError) -> ProjectView {
        try await call(
            "POST",
            "/v1/projects/\(try PathSegment.projectID(projectID))/freeze",
            body: FreezeRequest(userID: userID, reason: reason)
        )
    }

    /// `POST /v1/versions/rollback/preview`: what a rollback to the target would change in the
    /// working directory (computed by the host's agent; changes nothing).
    public func previewRollback(
        _ request: RollbackPreviewRequest
    ) async throws(BrokerError) -> RollbackPreview {
        try await call("POST", "/v1/versions/rollback/preview", body: request)
    }

    /// `POST /v1/projects/{projectId}/rollback/cancel`: stops the project's rollback before the
    /// agent's swap (409 `too_late_to_cancel` after it). `state` is `cancelRequested` when the
    /// broker could not see it end within its wait; the events then tell.
    public func cancelRollback(
        projectID: String,
        userID: String,
        reason: String? = nil
    ) async throws(BrokerError) -> RollbackCancellation {
        try await call(
            "POST",
            "/v1/projects/\(try PathSegment.projectID(projectID))/rollback/cancel",
            body: RollbackCancelRequest(userID: userID, reason: reason)
        )
    }

    /// `POST /v1/projects/{projectId}/unfreeze`: releases the held builds in arrival order, or
    /// purges them with `discard`.
    public func unfreeze(
        projectID: String,
        userID: String,
        reason: String? = nil,
        discard: Bool = false
    ) async throws(BrokerError) -> UnfreezeResult {
        try await call(
            "POST",
            "/v1/projects/\(try PathSegment.projectID(projectID))/unfreeze",
            body: UnfreezeRequest(userID: userID, reason: reason, discard: discard ? true : nil)
        )
    }

    /// `POST /v1/projects/{projectId}/settings`.
    public func updateSettings(
        projectID: String,
        _ request: ProjectSettingsRequest
    ) async throws(BrokerError) -> ProjectView {
        try await call("POST", "/v1/projects/\(try PathSegment.projectID(projectID))/settings", body: request)
    }

    // MARK: Reads

    public func project(_ projectID: String) async throws(BrokerError) -> ProjectView {
        try await call("GET", "/v1/projects/\(try PathSegment.projectID(projectID))")
    }

    /// Projects in id order, optionally of one user; pass `nextCursor` for the next page.
    public func projects(
        user: String? = nil,
        cursor: String? = nil,
        limit: Int? = nil
    ) async throws(BrokerError)
        -> ProjectList
    {
        let query = PathSegment.query([("user", user), ("cursor", cursor), ("limit", limit.map(String.init))])
        return try await call("GET", "/v1/projects\(query)")
    }

    /// Oldest first, each with its parent.
    public func versions(projectID: String) async throws(BrokerError) -> VersionList {
        try await call("GET", "/v1/projects/\(try PathSegment.projectID(projectID))/versions")
    }

    /// Newest first; pass a page's `nextCursor` as `cursor` for the next (older) one.
    public func history(
        projectID: String,
        cursor: String? = nil,
        limit: Int? = nil
    ) async throws(BrokerError) -> HistoryPage {
        let query = PathSegment.query([("cursor", cursor), ("limit", limit.map(String.init))])
        return try await call("GET", "/v1/projects/\(try PathSegment.projectID(projectID))/history\(query)")
    }

    /// The version `previous` resolves to now (422 `no_previous_version` when none can be).
    public func previousVersion(
        projectID: String,
        skipWorkingDirectory: Bool = false
    ) async throws(BrokerError) -> VersionView {
        let query = PathSegment.query([("skipWorkingDirectory", skipWorkingDirectory ? "true" : nil)])
        return try await call(
            "GET",
            "/v1/projects/\(try PathSegment.projectID(projectID))/versions/previous\(query)"
        )
    }

    /// The audit log, newest first, filtered by project, actor and time.
    public func audit(
        projectID: String? = nil,
        actor: String? = nil,
        since: Date? = nil,
        cursor: String? = nil,
        limit: Int? = nil
    ) async throws(BrokerError) -> AuditPage {
        let query = PathSegment.query([
            ("project", projectID), ("actor", actor),
            ("since", since.map { ISO8601DateFormatter().string(from: $0) }),
            ("cursor", cursor), ("limit", limit.map(String.init)),
        ])
        return try await call("GET", "/v1/audit\(query)")
    }

    public func job(_ jobID: String) async throws(BrokerError) -> JobView {
        try await call("GET", "/v1/jobs/\(try PathSegment.id(jobID, field: "jobID"))")
    }

    // MARK: The build system's calls

    public func registerProject(_ request: RegisterProjectRequest) async throws(BrokerError) -> ProjectView {
        try await call("POST", "/v1/projects", body: request)
    }

    public func registerVersion(
        projectID: String,
        _ request: RegisterVersionRequest
    ) async throws(BrokerError) -> VersionView {
        try await call("POST", "/v1/projects/\(try PathSegment.projectID(projectID))/versions", body: request)
    }

    public func admitBuild(_ request: BuildRequest) async throws(BrokerError) -> BuildAdmission {
        try await call("POST", "/v1/builds", body: request)
    }

    // MARK: Transport

    /// One signed call with retries; decodes the answer as `Answer` or the error shape.
    func call<Answer: Decodable>(
        _ method: String,
        _ target: String,
        body: (some Encodable & Sendable)? = nil as [String: String]?,
        idempotencyKey: String? = nil
    ) async throws(BrokerError) -> Answer {
        let bytes: [UInt8]
        do {
            bytes = try body.map { Array(try JSONEncoder().encode($0)) } ?? []
        } catch {
            throw BrokerError.invalidResponse("cannot encode the request: \(error)")
        }
        let response = try await send(method, target, body: bytes, idempotencyKey: idempotencyKey)
        return try Self.decode(Answer.self, response)
    }

    /// Sends with retries of retryable failures; answers other than 2xx become ``BrokerError``.
    func send(
        _ method: String,
        _ target: String,
        body: [UInt8] = [],
        idempotencyKey: String? = nil,
        extraHeaders: [(name: String, value: String)] = []
    ) async throws(BrokerError) -> HTTP1Response {
        var delay = retryDelay
        var attempt = 1
        while true {
            var headers = signer.headers(method: method, target: target, body: body) + extraHeaders
            if let idempotencyKey { headers.append(("Idempotency-Key", idempotencyKey)) }
            let failure: BrokerError
            do {
                let response = try await HTTP1Connection.request(
                    host: host,
                    port: port,
                    tls: tls,
                    timeout: requestTimeout,
                    method: method,
                    target: target,
                    headers: headers,
                    body: body
                )
                if (200..<300).contains(response.status) { return response }
                failure = Self.error(from: response)
            } catch let error as HTTP1ClientError where error.code == .timedOut {
                failure = .timedOut(method: method, target: target, after: requestTimeout, url: baseURL)
            } catch {
                failure = .unreachable(error, url: baseURL)
            }
            guard failure.isRetryable, attempt < maxAttempts, !Task.isCancelled else { throw failure }
            try? await Task.sleep(for: delay)
            delay *= 2
            attempt += 1
        }
    }

    static func error(from response: HTTP1Response) -> BrokerError {
        guard let body = try? JSONDecoder().decode(APIErrorBody.self, from: Data(response.body)) else {
            return .invalidResponse(
                "HTTP \(response.status) without the error shape: \(String(decoding: response.body.prefix(200), as: UTF8.self))"
            )
        }
        return BrokerError(
            status: response.status,
            code: body.error.code,
            message: body.error.message,
            details: body.error.details
        )
    }

    static func decode<Answer: Decodable>(
        _ type: Answer.Type,
        _ response: HTTP1Response
    ) throws(BrokerError) -> Answer {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(type, from: Data(response.body))
        } catch {
            throw .invalidResponse("cannot read \(Answer.self) from the answer: \(error)")
        }
    }
}
