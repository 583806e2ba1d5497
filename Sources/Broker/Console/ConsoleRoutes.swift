import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RollbackProtocol

/// `/console`: the operators' web console. Plain HTML, CSS and one ES module, shipped as the
/// package's resources; the pages call the same `/v1` API as everyone, authenticated by the
/// session cookie (`RequestAuthenticator`). Sign-in exchanges a `rollbackctl console` link for
/// that cookie.
extension BrokerAPI {
    /// Every page and asset: no inline script or style, no other origin.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        + "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    func addConsoleRoutes(to router: Router<BasicRequestContext>) {
        // Hummingbird matches /console and /console/ alike.
        router.get("/console") { _, _ in try ConsoleAssets.response(for: "index.html") }
        router.get("/console/assets/:file") { _, context in
            try ConsoleAssets.response(for: try context.parameters.require("file"))
        }
        router.get("/console/login") { request, context in
            try await self.consoleLogin(request, context).response
        }
        router.get("/console/session") { request, context in
            try await self.consoleSession(request, context).response
        }
        router.post("/console/logout") { request, context in
            try await self.consoleLogout(request, context)
        }
    }

    /// `GET /console/login?token=…`: a valid, unused, unexpired link of an operator key becomes
    /// a session cookie (HttpOnly, SameSite=Strict, Secure under TLS), then the console.
    func consoleLogin(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        let token = request.uri.queryParameters.get("token") ?? ""
        let keyring = keyStore.current
        let verified: ConsoleLoginToken.Verified
        do {
            verified = try ConsoleLoginToken.verify(token, keyring: keyring.keyring)
        } catch {
            throw APIError(.unauthorized, error.rawValue, Self.loginRefusal(error))
        }
        guard case .operator(let actor, let role, _) = keyring.grant(ofKeyID: verified.keyID) else {
            throw APIError(
                .forbidden,
                "role_required",
                "the console is for operator keys; \(verified.keyID) is a service key"
            )
        }
        let firstUse: Bool
        do {
            firstUse = try await replayGuard.firstUse(
                of: "console-login:\(verified.nonce)",
                ttlSeconds: Int(ConsoleLoginToken.maxLifetimeSeconds) + 60
            )
        } catch {
            throw APIError.redisUnavailable("\(error)")
        }
        guard firstUse else {
            throw APIError(
                .unauthorized,
                "login_link_used",
                "this sign-in link was used already; make a new one with rollbackctl console"
            )
        }
        let session = ConsoleSessions.Session(
            keyID: verified.keyID,
            actor: actor,
            role: role,
            csrfToken: ConsoleSessions.randomHex(32)
        )
        let id: String
        do {
            id = try await sessions.create(session)
        } catch {
            throw APIError.redisUnavailable("\(error)")
        }
        await audit.record(
            AuditEntry(
                caller: verified.keyID,
                keyID: verified.keyID,
                actor: actor,
                action: "console.login",
                projectID: nil,
                outcome: "accepted",
                statusCode: 303,
                reason: nil,
                details: ["role": role.rawValue],
                requestID: context.id
            )
        )
        var response = Self.redirect(to: "/console/")
        response.headers.append((.setCookie, cookie(id, maxAge: ConsoleSessions.lifetimeSeconds)))
        return response
    }

    /// `GET /console/session`: who is signed in, and the CSRF token the pages send with changes.
    func consoleSession(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        guard let id = ConsoleSessions.sessionID(fromCookieHeader: request.headers[.cookie]),
            let session = try? await sessions.find(id),
            case .operator(let actor, let role, let projects) = session.currentGrant(in: keyStore.current)
        else {
            throw APIError(
                .unauthorized,
                "session_ended",
                "not signed in; run rollbackctl console for a link"
            )
        }
        var response = APIResponse(
            json: ConsoleSessionView(
                keyID: session.keyID,
                actor: actor,
                role: role.rawValue,
                projects: projects?.patterns,
                csrfToken: session.csrfToken
            )
        )
        response.headers.append((.cacheControl, "no-store"))
        return response
    }

    /// `POST /console/logout`: ends the session (with its CSRF token) and clears the cookie.
    func consoleLogout(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        if let id = ConsoleSessions.sessionID(fromCookieHeader: request.headers[.cookie]),
            let session = try? await sessions.find(id),
            request.headers[HTTPField.Name(RequestAuthenticator.csrfHeader)!] == session.csrfToken
        {
            try? await sessions.delete(id)
        }
        var response = Self.redirect(to: "/console/")
        response.headers.append((.setCookie, cookie("", maxAge: 0)))
        return response.response
    }

    private func cookie(_ value: String, maxAge: Int) -> String {
        "\(ConsoleSessions.cookieName)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Strict"
            + (settings.secureCookies ? "; Secure" : "")
    }

    static func redirect(to location: String) -> APIResponse {
        APIResponse(status: .seeOther, body: [], headers: [(.location, location)])
    }

    private static func loginRefusal(_ refusal: ConsoleLoginToken.Refusal) -> String {
        switch refusal {
        case .malformed: "this is not a console sign-in link; make one with rollbackctl console"
        case .unknownKey: "the link's key is not in the broker's keyring (removed?)"
        case .expired: "the sign-in link has expired; make a new one with rollbackctl console"
        case .badSignature: "the sign-in link's signature does not hold"
        }
    }
}

/// `GET /console/session`.
struct ConsoleSessionView: Encodable {
    var keyID: String
    var actor: String
    var role: String
    var projects: [String]?
    var csrfToken: String

    enum CodingKeys: String, CodingKey {
        case keyID = "keyId"
        case actor, role, projects, csrfToken
    }
}

/// The console's files, from the package's resources, with the headers every page carries.
enum ConsoleAssets {
    static let types = [
        "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8",
        "css": "text/css; charset=utf-8", "svg": "image/svg+xml",
    ]

    static func response(for name: String) throws -> Response {
        let ext = (name as NSString).pathExtension
        guard name.range(of: #"^[a-z0-9-]+\.(html|js|css|svg)$"#, options: .regularExpression) != nil,
            let type = types[ext],
            let url = Bundle.module.url(
                forResource: (name as NSString).deletingPathExtension,
                withExtension: ext,
                subdirectory: "Assets"
            ),
            let data = try? Data(contentsOf: url)
        else {
            throw APIError(.notFound, "route_not_found", "no console file \(name.prefix(64))")
        }
        var fields = HTTPFields()
        fields[.contentType] = type
        fields[.contentSecurityPolicy] = BrokerAPI.contentSecurityPolicy
        fields[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        fields[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        fields[HTTPField.Name("X-Frame-Options")!] = "DENY"
        fields[.cacheControl] = ext == "html" ? "no-store" : "no-cache"
        return Response(status: .ok, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
