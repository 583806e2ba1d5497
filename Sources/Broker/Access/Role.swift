/// What an operator key may do, each role including the ones below it: a `viewer` reads, an
/// `operator` also rolls back, previews, cancels and freezes, an `admin` also manages webhooks
/// and reads the audit log.
public enum Role: String, Sendable, CaseIterable, Comparable, Codable {
    case viewer
    case `operator`
    case admin

    public static func < (lhs: Role, rhs: Role) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// What an API action needs. Every action the authenticator sees is listed in
/// `Capability.of(action:)`, so an action nobody classified cannot slip through.
enum Capability: Sendable, Equatable {
    /// Reading projects, versions, history, jobs and events: `viewer` and up, and service keys.
    case read
    /// Rolling back, previewing, cancelling, freezing: `operator` and up, and service keys.
    case operate
    /// Webhooks and the audit log: `admin` only (a service key acts for users, not for the team).
    case administer
    /// What only the web tier and build system do: registering projects and versions, admitting
    /// builds, publishing. Service keys only.
    case webTier

    /// The least operator role that has this capability; nil when only a service key has it.
    var operatorRole: Role? {
        switch self {
        case .read: .viewer
        case .operate: .operator
        case .administer: .admin
        case .webTier: nil
        }
    }

    /// The capability an action (the audit log's action names) needs.
    static func of(action: String) -> Capability {
        switch action {
        case "projects.read", "project.read", "versions.read", "history.read", "job.read", "events.read":
            .read
        case "rollback", "rollback.preview", "rollback.cancel", "freeze", "unfreeze", "settings":
            .operate
        case "project.register", "version.register", "build.admit", "publish":
            .webTier
        default:
            // Audit, webhooks, and anything added later until it is classified above.
            .administer
        }
    }
}
