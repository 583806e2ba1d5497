import ArgumentParser
import Foundation

@main
struct RollbackCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollbackctl",
        abstract:
            "Operate Rollback: roll projects back through the broker, or talk to an agent on this host.",
        discussion: """
            Broker commands sign their requests with the key in --broker-keyring \
            (ROLLBACK_BROKER_KEYRING) and talk to --broker-url (ROLLBACK_BROKER_URL). Agent \
            commands take --socket, --agent-id and --keyring (ROLLBACK_AGENT_SOCKET, \
            ROLLBACK_AGENT_ID, ROLLBACK_KEYRING). Every command takes --json.

            Examples:
              rollbackctl rollback --project shop --to v41 --wait
              rollbackctl status shop
              rollbackctl events shop --follow
              rollbackctl agent health

            Exit codes: 0 success; 1 refused or failed (the error is printed as one line); \
            2 bad usage or configuration; 3 the broker or agent could not be reached (or \
            answered 503); 4 the rollback ran and failed (it was undone).
            """,
        subcommands: [
            Rollback.self, Status.self, Versions.self, Jobs.self, Events.self, Publish.self,
            AgentCommands.self,
        ]
    )

    /// Like ArgumentParser's `main`, but a command-line mistake exits with 2 (as documented)
    /// instead of 64.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(CommandFailure.usage)
            }
            exit(withError: error)
        }
    }
}
