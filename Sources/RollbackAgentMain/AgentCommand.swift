import ArgumentParser
import Foundation
import Logging
import RollbackAgent
import RollbackRuntime
import RollbackTelemetry
import ServiceLifecycle

@main
struct AgentCommand: AsyncParsableCommand {
    static func main() async {
        TimeZonePin.pin()
        await CommandMain.run(Self.self)
    }

    static let configuration = CommandConfiguration(
        commandName: "rollback-agent",
        abstract: "Serve rollback syncs for the projects on this build host.",
        discussion: """
            The agent listens on a Unix socket for signed requests from the rollback broker and \
            puts earlier versions of projects back into their working directories: it downloads \
            and verifies the artifact, extracts it beside the working directory, swaps the trees \
            atomically and records the change in git, streaming progress all the way.

            Configuration comes from a JSON file (--config), then from ROLLBACK_AGENT_* \
            environment variables (ROLLBACK_AGENT_WORK_ROOT, ROLLBACK_AGENT_SOCKET_PATH, ...), \
            then from flags; later sources win. Run it as the user that owns the working \
            directories. The keyring file must not be readable by group or others.

            Exit codes: 0 after a clean stop (SIGTERM/SIGINT), 1 on a runtime failure, \
            2 on bad usage or a configuration error.

            Example:
              rollback-agent --work-root /srv/projects --keyring /etc/rollback/agent-keyring.json
            """,
        version: BuildInfo.versionLine
    )

    @Option(name: .long, help: "JSON configuration file.")
    var config: String?

    @Option(name: .long, help: "Socket path (default /run/rollback/agent.sock).")
    var socket: String?

    @Option(name: .long, help: "This agent's id; requests must be signed for it (default: host name).")
    var agentID: String?

    @Option(name: .long, help: "Keyring file (JSON; mode 600).")
    var keyring: String?

    @Option(name: .long, help: "Directory holding one working directory per project.")
    var workRoot: String?

    @Option(name: .long, help: "State directory: jobs, epochs, journal, artifact cache.")
    var stateDir: String?

    @Option(
        name: .long,
        help: "A peer uid allowed to connect (repeatable; default: whoever the socket mode admits)."
    )
    var allowedUID: [UInt32] = []

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String?

    @Option(name: .long, help: "Set any configuration field, as field=value (repeatable).")
    var set: [String] = []

    @Flag(name: .long, help: "Print the effective configuration as JSON and exit.")
    var printConfig = false

    func run() async throws {
        let configuration: AgentConfiguration
        do {
            configuration = try ConfigurationLoader<AgentConfiguration>.load(
                file: config,
                environment: ProcessInfo.processInfo.environment,
                flags: [
                    ("socketPath", "--socket", socket), ("agentID", "--agent-id", agentID),
                    ("keyringFile", "--keyring", keyring), ("workRoot", "--work-root", workRoot),
                    ("stateDirectory", "--state-dir", stateDir), ("logLevel", "--log-level", logLevel),
                    (
                        "allowedPeerUIDs", "--allowed-uid",
                        allowedUID.isEmpty ? nil : allowedUID.map(String.init).joined(separator: ",")
                    ),
                ],
                assignments: set,
                validate: !printConfig
            ).configuration
        } catch {
            FileHandle.standardError.write(Data("rollback-agent: \(error)\n".utf8))
            throw ExitCode(ExitStatus.usage)
        }
        if printConfig {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(configuration), as: UTF8.self))
            for warning in MissingPaths.warnings([
                ("keyringFile", configuration.keyringFile), ("workRoot", configuration.workRoot),
                ("stateDirectory", configuration.stateDirectory),
                ("socketPath's directory", (configuration.socketPath as NSString).deletingLastPathComponent),
            ]) {
                FileHandle.standardError.write(Data("rollback-agent: warning: \(warning)\n".utf8))
            }
            return
        }
        let tracing: (any Service)?
        do {
            tracing = try TracingSetup.bootstrapWithLogging(
                serviceName: "rollback-agent",
                endpoint: configuration.tracesEndpoint,
                protocol: configuration.tracesProtocol,
                logLevel: configuration.logLevel,
                logFormat: configuration.logFormat
            )
        } catch {
            FileHandle.standardError.write(Data("rollback-agent: cannot start tracing: \(error)\n".utf8))
            throw ExitCode(ExitStatus.usage)
        }
        var logger = Logger(label: "rollback.agent")
        logger[metadataKey: "agent.id"] = "\(configuration.agentID)"

        let agent: RollbackAgent
        do {
            agent = try await RollbackAgent.start(configuration: configuration, logger: logger)
        } catch let error as ConfigurationError {
            FileHandle.standardError.write(Data("rollback-agent: \(error)\n".utf8))
            throw ExitCode(ExitStatus.usage)
        } catch {
            FileHandle.standardError.write(Data("rollback-agent: cannot start: \(error)\n".utf8))
            throw ExitCode(ExitStatus.failure)
        }
        var services: [any Service] = [agent]
        if let tracing { services.append(tracing) }
        if let address = try? MetricsListenAddress.parse(configuration.metricsListen) {
            let registry = MetricsSetup.bootstrapPrometheus()
            MetricsSetup.recordBuildInfo(prefix: "rollback_agent", in: registry)
            services.append(MetricsEndpoint(address: address, registry: registry, logger: logger))
        }
        let group = ServiceGroup(
            configuration: .init(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }
}
