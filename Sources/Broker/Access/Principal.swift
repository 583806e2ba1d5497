import RollbackProtocol

/// Who signed a request, and what their key allows: the answer to "who may do what" that every
/// route asks before it touches anything.
struct Principal: Sendable {
    let keyID: String
    /// The scope of idempotency keys and the audit's `caller`: the key's `caller` (service
    /// keys), else the key id.
    let caller: String
    let grant: KeyGrant

    /// The actor recorded for a request whose body says `userId: claimed`: the user a service
    /// key acts for, or an operator key's own actor whatever the body claims.
    func actor(claimed: String) -> String {
        switch grant {
        case .service: claimed
        case .operator(let actor, _, _): actor
        }
    }

    /// An operator key's actor; nil for a service key (whose actor each body names).
    var boundActor: String? {
        if case .operator(let actor, _, _) = grant { return actor }
        return nil
    }

    /// A service key acts for users and is held to their projects; an operator key acts for
    /// the team, held only to its project patterns (checked by `require(project:)`).
    var isHeldToOwners: Bool {
        if case .service = grant { return true }
        return false
    }

    /// Refuses an action the key's kind or role does not allow: 403 `role_required`, naming
    /// the role it would need.
    func require(_ capability: Capability, action: String) throws(APIError) {
        switch grant {
        case .service:
            guard capability != .administer else {
                throw APIError(
                    .forbidden,
                    "role_required",
                    "\(action) needs an operator key with role admin; key \(keyID) is a service key",
                    details: ["keyId": keyID, "requiredRole": Role.admin.rawValue, "action": action]
                )
            }
        case .operator(let actor, let role, _):
            guard let needed = capability.operatorRole else {
                throw APIError(
                    .forbidden,
                    "role_required",
                    "\(action) is for the web tier's service keys; key \(keyID) is \(actor)'s operator key",
                    details: [
                        "keyId": keyID, "requiredRole": "service", "role": role.rawValue, "action": action,
                    ]
                )
            }
            guard role >= needed else {
                throw APIError(
                    .forbidden,
                    "role_required",
                    "\(action) needs role \(needed.rawValue); \(actor) (key \(keyID)) has role \(role.rawValue)",
                    details: [
                        "keyId": keyID, "requiredRole": needed.rawValue, "role": role.rawValue,
                        "action": action,
                    ]
                )
            }
        }
    }

    /// Refuses a project outside an operator key's patterns: 403 `project_not_permitted`.
    func require(project projectID: String) throws(APIError) {
        guard case .operator(let actor, _, let patterns?) = grant, !patterns.matches(projectID) else {
            return
        }
        throw APIError(
            .forbidden,
            "project_not_permitted",
            "\(actor) (key \(keyID)) may act only on projects \(patterns); not on \(projectID)",
            details: ["keyId": keyID, "projectId": projectID, "projects": patterns.description]
        )
    }

    /// Whether the key may see the project (for filtering lists).
    func permits(project projectID: String) -> Bool {
        guard case .operator(_, _, let patterns?) = grant else { return true }
        return patterns.matches(projectID)
    }

    /// The SQL `LIKE` patterns a list must match, or nil for every project.
    var projectLikePatterns: [String]? {
        guard case .operator(_, _, let patterns?) = grant else { return nil }
        return patterns.likePatterns
    }
}
