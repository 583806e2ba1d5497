import ArgumentParser
import Foundation

@main
struct BrokerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback-broker",
        abstract: "The Rollback broker: HTTP API, PostgreSQL state, Redis locks, job dispatch.",
        discussion: """
            Not implemented yet: the broker's API (issue 4) and dispatcher (issue 5) are the next \
            pieces of work. Until then `rollbackctl agent sync` drives an agent directly; see \
            scripts/demo-agent.
            """
    )

    func run() throws {
        FileHandle.standardError.write(Data("rollback-broker: not implemented yet; see --help\n".utf8))
        throw ExitCode(1)
    }
}
