/// What a key of the broker's keyring is for.
public enum KeyGrant: Sendable, Hashable {
    /// The web tier or the build system: acts for the `userId` each request asserts (and is
    /// held to that user's projects), registers projects and versions, admits builds.
    case service
    /// One person (or tool) of the team, bound to `actor`: whatever `userId` a body claims, the
    /// actor recorded is this one. Not held to project owners, but to `projects` when given.
    case `operator`(actor: String, role: Role, projects: ProjectPatterns?)
}
