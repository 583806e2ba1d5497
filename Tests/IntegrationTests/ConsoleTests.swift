import Foundation
import RollbackBroker
import RollbackClient
import RollbackProtocol
import TestSupport
import Testing

/// The console's sign-in and session rules over real HTTP (the pages themselves are driven by
/// a real browser in `scripts/test-console`).
@Suite("Console sessions")
struct ConsoleTests {
    static func key(_ id: String) throws -> SigningKey {
        try SigningKey(id: id, secret: BrokerHarness.operatorSecret(id))
    }

    static func get(
        _ broker: BrokerHarness,
        _ target: String,
        cookie: String? = nil
    ) async throws -> HTTP1Response {
        try await broker.send(
            "GET",
            target,
            signed: false,
            extraHeaders: cookie.map { [("Cookie", $0)] } ?? []
        )
    }

    /// Signs in with a fresh link of `keyID`; returns the cookie pair and the CSRF token.
    static func signIn(
        _ broker: BrokerHarness,
        as keyID: String
    ) async throws -> (cookie: String, csrf: String) {
        let token = ConsoleLoginToken.make(key: try key(keyID), expires: UnixTime.now() + 60)
        let login = try await get(broker, "/console/login?token=\(token)")
        #expect(login.status == 303 && login.header("Location") == "/console/")
        let setCookie = try #require(login.header("Set-Cookie"))
        #expect(
            setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict")
                && !setCookie.contains("Secure")
        )
        let cookie = String(setCookie.split(separator: ";")[0])
        let session = try await get(broker, "/console/session", cookie: cookie)
        #expect(session.status == 200)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(session.body)) as? [String: Any])
        return (cookie, try #require(json["csrfToken"] as? String))
    }

    @Test(
        "a sign-in link works once; the session acts as its key: a viewer's forged POST is 403, a change needs the CSRF token"
    )
    func sessions() async throws {
        try await BrokerHarness.with { broker in
            let project = try await broker.makeProject()
            let viewer = try await Self.signIn(broker, as: "viewer-1")
            // Reads work with the cookie alone.
            #expect(
                try await Self.get(broker, "/v1/projects/\(project.id)", cookie: viewer.cookie).status == 200
            )
            // A viewer's forged rollback, CSRF token and all: refused by role.
            let body = BrokerHarness.encode(AccessTests.rollbackBody(project))
            let forged = try await broker.send(
                "POST",
                "/v1/versions/rollback",
                body: body,
                signed: false,
                extraHeaders: [("Cookie", viewer.cookie), ("X-Rollback-CSRF", viewer.csrf)]
            )
            #expect(forged.status == 403 && BrokerHarness.errorCode(forged) == "role_required")

            let operatorSession = try await Self.signIn(broker, as: "operator-1")
            let noToken = try await broker.send(
                "POST",
                "/v1/versions/rollback",
                body: body,
                signed: false,
                extraHeaders: [("Cookie", operatorSession.cookie)]
            )
            #expect(noToken.status == 403 && BrokerHarness.errorCode(noToken) == "csrf_token_invalid")
            let accepted = try await broker.send(
                "POST",
                "/v1/versions/rollback",
                body: body,
                signed: false,
                extraHeaders: [("Cookie", operatorSession.cookie), ("X-Rollback-CSRF", operatorSession.csrf)]
            )
            #expect(accepted.status == 200, "\(String(decoding: accepted.body, as: UTF8.self))")
            let history = try BrokerHarness.decode(
                HistoryPage.self,
                try await broker.send("GET", "/v1/projects/\(project.id)/history")
            )
            #expect(history.entries.first?.actor == "olga" && history.entries.first?.keyID == "operator-1")

            // A link is used once; a stale, forged or service key's link is refused.
            let token = ConsoleLoginToken.make(key: try Self.key("viewer-1"), expires: UnixTime.now() + 60)
            #expect(try await Self.get(broker, "/console/login?token=\(token)").status == 303)
            let again = try await Self.get(broker, "/console/login?token=\(token)")
            #expect(again.status == 401 && BrokerHarness.errorCode(again) == "login_link_used")
            let stale = ConsoleLoginToken.make(key: try Self.key("viewer-1"), expires: UnixTime.now() - 1)
            #expect(
                BrokerHarness.errorCode(try await Self.get(broker, "/console/login?token=\(stale)"))
                    == "login_link_expired"
            )
            let forgedLink = ConsoleLoginToken.make(
                key: try SigningKey(id: "viewer-1", secret: Array(repeating: 7, count: 32)),
                expires: UnixTime.now() + 60
            )
            #expect(
                BrokerHarness.errorCode(try await Self.get(broker, "/console/login?token=\(forgedLink)"))
                    == "bad_signature"
            )
            let service = ConsoleLoginToken.make(
                key: BrokerHarness.keyring.activeKey,
                expires: UnixTime.now() + 60
            )
            #expect(try await Self.get(broker, "/console/login?token=\(service)").status == 403)
            // A session cookie someone made up is no session.
            let madeUp = try await Self.get(
                broker,
                "/v1/projects",
                cookie: "rollback_session=\(String(repeating: "a", count: 64))"
            )
            #expect(madeUp.status == 401 && BrokerHarness.errorCode(madeUp) == "session_ended")
        }
    }

    @Test("the pages: served from the package with a strict Content-Security-Policy and no external asset")
    func pages() async throws {
        try await BrokerHarness.with { broker in
            #expect(try await Self.get(broker, "/console").status == 200)
            for (path, type) in [
                ("/console/", "text/html"), ("/console/assets/console.js", "text/javascript"),
                ("/console/assets/console.css", "text/css"),
            ] {
                let page = try await Self.get(broker, path)
                #expect(page.status == 200, "\(path)")
                #expect(page.header("Content-Type")?.hasPrefix(type) == true, "\(path)")
                let policy = try #require(page.header("Content-Security-Policy"))
                #expect(policy.contains("default-src 'none'") && policy.contains("script-src 'self'"))
                #expect(page.header("X-Frame-Options") == "DENY")
                let text = String(decoding: page.body, as: UTF8.self)
                #expect(
                    !text.contains("http://") && !text.contains("https://"),
                    "\(path) loads nothing from elsewhere"
                )
            }
            #expect(try await Self.get(broker, "/console/assets/../Package.swift").status == 404)
            #expect(try await Self.get(broker, "/console/session").status == 401)
        }
    }
}
