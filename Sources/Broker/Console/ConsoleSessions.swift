import Foundation
import RollbackProtocol

/// Console sessions, in Redis so that every broker instance knows them: a random id (the
/// HttpOnly cookie) → the key that signed in, its actor and role, and the CSRF token the pages
/// send with every change. Losing Redis signs everyone out, nothing more.
struct ConsoleSessions: Sendable {
    let redis: RedisClient
    let keys: RedisKeys
    /// How long a session lasts from sign-in.
    static let lifetimeSeconds = 8 * 3600
    static let cookieName = "rollback_session"

    struct Session: Codable, Sendable, Equatable {
        var keyID: String
        var actor: String
        var role: Role
        var csrfToken: String

        /// The session's key grant as the keyring holds it now; nil when the key is gone or no
        /// longer the operator (actor and role) that signed in, which ends the session.
        func currentGrant(in keyring: AccessKeyring) -> KeyGrant? {
            let grant = keyring.grant(ofKeyID: keyID)
            guard keyring.keyring.key(id: keyID) != nil,
                case .operator(let currentActor, let currentRole, _) = grant,
                currentActor == actor, currentRole == role
            else { return nil }
            return grant
        }
    }

    private func key(_ id: String) -> String { "\(keys.prefix):console-session:\(id)" }

    /// Starts a session; returns its id.
    func create(_ session: Session) async throws -> String {
        let id = Self.randomHex(32)
        let value = String(decoding: try JSONEncoder().encode(session), as: UTF8.self)
        _ = try await redis.command(["SET", key(id), value, "EX", String(Self.lifetimeSeconds)])
        return id
    }

    /// The session of a cookie value, if it exists.
    func find(_ id: String) async throws -> Session? {
        guard id.count == 64, id.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            return nil
        }
        guard case .string(let value) = try await redis.command(["GET", key(id)]) else { return nil }
        return try? JSONDecoder().decode(Session.self, from: Data(value.utf8))
    }

    func delete(_ id: String) async throws {
        _ = try await redis.command(["DEL", key(id)])
    }

    static func randomHex(_ bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return Hex.encode((0..<bytes).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// The session id in a `Cookie` header, if any.
    static func sessionID(fromCookieHeader header: String?) -> String? {
        guard let header else { return nil }
        for pair in header.split(separator: ";") {
            let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0] == cookieName { return String(parts[1]) }
        }
        return nil
    }
}
