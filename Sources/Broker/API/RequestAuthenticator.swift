import Foundation
import HTTPTypes
import Hummingbird
import Logging
import RollbackProtocol

/// A request body that arrived signed by a known caller (or from a console session).
struct SignedRequest: Sendable {
    var body: [UInt8]
    /// Who signed, and what their key allows (already checked against the action and the
    /// path's project).
    var principal: Principal
    var target: String
    var idempotencyKey: String?
    var traceParent: String?
}

/// The first thing every `/v1` handler does: read the body (bounded), check the signature,
/// refuse a replayed signature (remembered by the `ReplayGuard`, Redis for a broker, so every
/// instance sees it), then refuse what the key may not do: the action's capability
/// (`Capability.of(action:)`) and the project in the path. A refusal is audited.
///
/// A request without signature headers but with a console session cookie acts as the key
/// that signed the session in (whose grant is read from the keyring now, so a removed key ends
/// its sessions at once); a change must then carry the session's CSRF token.
struct RequestAuthenticator: Sendable {
    let keys: KeyStore
    let windowSeconds: Int64
    let replayGuard: any ReplayGuard
    let audit: AuditLog
    let maxBodyBytes: Int
    let sessions: ConsoleSessions
    static let csrfHeader = "X-Rollback-CSRF"

    func authenticate(
        _ request: Request,
        context: BasicRequestContext,
        action: String
    ) async throws -> SignedRequest {
        var request = request
        let buffer: NIOCore.ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: maxBodyBytes)
        } catch {
            throw APIError(
                .contentTooLarge,
                "body_too_large",
                "the request body is larger than \(maxBodyBytes) bytes",
                details: ["limit": String(maxBodyBytes)]
            )
        }
        let body = Array(buffer.readableBytesView)
        let target = request.head.path ?? "/"
        let fields = request.headers
        let keyring = keys.current
        let principal: Principal
        if fields[HTTPField.Name(HTTPSignatureHeader.signature)!] == nil,
            fields[HTTPField.Name(HTTPSignatureHeader.keyID)!] == nil,
            let sessionID = ConsoleSessions.sessionID(fromCookieHeader: fields[.cookie])
        {
            principal = try await sessionPrincipal(sessionID, request: request, keyring: keyring)
        } else {
            principal = try await signaturePrincipal(
                request: request,
                body: body,
                target: target,
                keyring: keyring,
                context: context,
                action: action
            )
        }
        return try await authorized(
            principal,
            body: body,
            target: target,
            request: request,
            context: context,
            action: action
        )
    }

    /// The signer of a request with signature headers; a bad signature or a replay is 401,
    /// audited.
    private func signaturePrincipal(
        request: Request,
        body: [UInt8],
        target: String,
        keyring: AccessKeyring,
        context: BasicRequestContext,
        action: String
    ) async throws -> Principal {
        let fields = request.headers
        let verifier = HTTPRequestVerifier(keyring: keyring.keyring, windowSeconds: windowSeconds)
        let verified: VerifiedHTTPRequest
        do {
            verified = try verifier.verify(
                method: request.method.rawValue,
                target: target,
                keyID: fields[HTTPField.Name(HTTPSignatureHeader.keyID)!],
                timestamp: fields[HTTPField.Name(HTTPSignatureHeader.timestamp)!],
                nonce: fields[HTTPField.Name(HTTPSignatureHeader.nonce)!],
                signature: fields[HTTPField.Name(HTTPSignatureHeader.signature)!],
                body: body
            )
            if request.method != .get && request.method != .head {
                try await refuseReplay(verified, windowSeconds: verifier.windowSeconds)
            }
        } catch let error as HTTPSignatureError {
            await audit.record(
                AuditEntry(
                    caller: nil,
                    keyID: nil,
                    actor: nil,
                    action: action,
                    projectID: nil,
                    outcome: "refused",
                    statusCode: 401,
                    reason: error.code.name,
                    details: [
                        "keyId": fields[HTTPField.Name(HTTPSignatureHeader.keyID)!] ?? "",
                        "path": target,
                    ],
                    requestID: context.id
                )
            )
            throw APIError(.unauthorized, error.code.name, error.message)
        }
        return Principal(
            keyID: verified.keyID,
            caller: verified.caller,
            grant: keyring.grant(ofKeyID: verified.keyID)
        )
    }

    /// The principal of a console session: refused (401) when the session is unknown or its
    /// key is gone or changed; a change without the session's CSRF token is 403.
    private func sessionPrincipal(
        _ sessionID: String,
        request: Request,
        keyring: AccessKeyring
    ) async throws -> Principal {
        let session: ConsoleSessions.Session?
        do {
            session = try await sessions.find(sessionID)
        } catch {
            throw APIError.redisUnavailable("\(error)")
        }
        guard let session, let grant = session.currentGrant(in: keyring) else {
            throw APIError(
                .unauthorized,
                "session_ended",
                "the console session has ended (signed out, expired, or its key was removed or changed); sign in again with rollbackctl console"
            )
        }
        if request.method != .get && request.method != .head {
            guard let token = request.headers[HTTPField.Name(Self.csrfHeader)!], token == session.csrfToken
            else {
                throw APIError(
                    .forbidden,
                    "csrf_token_invalid",
                    "a change from the console must carry the session's \(Self.csrfHeader) header"
                )
            }
        }
        return Principal(keyID: session.keyID, caller: session.keyID, grant: grant)
    }

    /// Checks the principal against the action and the path's project.
    private func authorized(
        _ principal: Principal,
        body: [UInt8],
        target: String,
        request: Request,
        context: BasicRequestContext,
        action: String
    ) async throws -> SignedRequest {
        let fields = request.headers
        let projectID = context.parameters.get("projectId")
        do {
            try principal.require(Capability.of(action: action), action: action)
            if let projectID { try principal.require(project: projectID) }
        } catch {
            // The refusal's audit row names the project even when the body carries it.
            let projectID = projectID ?? Self.bodyProjectID(body)
            await audit.record(
                AuditEntry(
                    caller: principal.caller,
                    keyID: principal.keyID,
                    actor: principal.boundActor,
                    action: action,
                    projectID: projectID.map { String($0.prefix(128)) },
                    outcome: "refused",
                    statusCode: error.status.code,
                    reason: error.code,
                    details: error.details,
                    requestID: context.id
                )
            )
            throw error
        }
        return SignedRequest(
            body: body,
            principal: principal,
            target: target,
            idempotencyKey: fields[HTTPField.Name(HTTPSignatureHeader.idempotencyKey)!],
            traceParent: fields[HTTPField.Name("traceparent")!]
        )
    }

    /// The `projectId` of a JSON body, best effort (for an audit row only; the body is
    /// validated by its route, which a refused request never reaches).
    private static func bodyProjectID(_ body: [UInt8]) -> String? {
        guard !body.isEmpty,
            let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
            let id = object["projectId"] as? String
        else { return nil }
        return id
    }

    private func refuseReplay(_ verified: VerifiedHTTPRequest, windowSeconds: Int64) async throws {
        let ttl = Int(windowSeconds * 2 + 60)
        guard try await replayGuard.firstUse(of: verified.replayToken, ttlSeconds: ttl) else {
            throw HTTPSignatureError.replayed
        }
    }
}

extension SignedRequest {
    /// Who asked, as the services record it.
    func caller(_ context: BasicRequestContext) -> ProjectService.Caller {
        ProjectService.Caller(principal: principal, requestID: context.id)
    }
}
