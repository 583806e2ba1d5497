import ArgumentParser

@main
struct RollbackCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollbackctl",
        abstract: "Operate Rollback: talk to an agent on this host.",
        discussion: """
            Exit codes: 0 success; 1 the operation failed (the error is printed as one line); \
            2 bad usage or configuration; 3 the agent could not be reached.
            """,
        subcommands: [AgentCommands.self]
    )
}
