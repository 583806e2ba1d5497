import ArgumentParser
import Foundation
import RollbackRuntime

@main
struct RollbackCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollbackctl",
        abstract:
            "Operate Rollback: roll projects back through the broker, or talk to an agent on this host.",
        discussion: """
            Broker commands sign their requests with the key in --broker-keyring \
            (ROLLBACK_BROKER_KEYRING) and talk to --broker-url (ROLLBACK_BROKER_URL), waiting \
            --broker-timeout seconds (ROLLBACK_BROKER_TIMEOUT, 60) for each answer. Agent \
            commands take --socket, --agent-id and --keyring (ROLLBACK_AGENT_SOCKET, \
            ROLLBACK_AGENT_ID, ROLLBACK_KEYRING). Every command takes --json.

            Examples:
              rollbackctl rollback --project shop --wait
              rollbackctl status shop
              rollbackctl history shop
              rollbackctl events shop --follow
              rollbackctl agent health

            Exit codes: 0 success; 1 refused or failed (the error is printed as one line); \
            2 bad usage or configuration; 3 the broker or agent could not be reached, answered \
            503, or did not answer in time; 4 the rollback ran and failed (it was undone); 5 the rollback was \
            canceled (nothing was changed).
            """,
        version: BuildInfo.versionLine,
        subcommands: [
            Rollback.self, Cancel.self, Status.self, History.self, Versions.self, Jobs.self, Events.self,
            Publish.self,
            Freeze.self, Unfreeze.self, Settings.self, Projects.self,
            Keys.self, Webhooks.self, Console.self,
            AgentCommands.self,
        ]
    )

    /// Exit codes as every Rollback program: a command-line mistake is 2, not 64.
    static func main() async { await CommandMain.run(Self.self) }
}
