import Foundation
import RollbackRuntime
import TestSupport
import Testing

/// What all three programs share, run as processes: `--version`, exit code 2 for a bad flag,
/// and `rollbackctl`'s local checks (ids by the protocol's rule, URLs it cannot use) that must
/// answer before any network is tried.
@Suite("One command-line shape for rollback-agent, rollback-broker and rollbackctl")
struct CommandLineTests {
    static let programs = ["rollback-agent", "rollback-broker", "rollbackctl"]

    @Test("--version names the release and the commit; a bad flag exits 2", arguments: programs)
    func versionAndBadFlags(program: String) async throws {
        let version = try await CLITests.run(program, ["--version"])
        #expect(version.status == 0, "\(version.stderr)")
        #expect(version.stdout.contains(BuildInfo.version))
        #expect(version.stdout.contains("commit "))
        let bad = try await CLITests.run(program, ["--no-such-flag"])
        #expect(bad.status == 2, "\(bad.stderr)")
        #expect(bad.stderr.contains("no-such-flag"))
        #expect(
            bad.stderr.hasPrefix("\(program): ") && bad.stderr.split(separator: "\n").count == 1,
            "\(bad.stderr)"
        )
    }

    @Test(
        "--help states each default once (the parser appends it; help text that says it too is doubled)",
        arguments: [
            ["rollback-agent"], ["rollback-broker", "serve"], ["rollback-broker", "dispatch"],
            ["rollback-broker", "run"],
            ["rollbackctl", "rollback"], ["rollbackctl", "cancel"], ["rollbackctl", "status"],
            ["rollbackctl", "history"], ["rollbackctl", "freeze"], ["rollbackctl", "projects", "create"],
            ["rollbackctl", "versions", "add"], ["rollbackctl", "events"], ["rollbackctl", "agent", "sync"],
        ]
    )
    func defaultsOnce(command: [String]) async throws {
        let help = try await CLITests.run(command[0], Array(command.dropFirst()) + ["--help"])
        #expect(help.status == 0, "\(help.stderr)")
        // One option's text runs from its flag to the next; join the wrapped lines first.
        let text = help.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .joined(separator: " ")
        let options = text.components(separatedBy: " --").dropFirst()
        for option in options where option.contains("(default:") {
            let before = option.components(separatedBy: "(default:")[0].lowercased()
            #expect(!before.contains("default"), "\(command.joined(separator: " ")): --\(option)")
        }
    }

    @Test("rollbackctl checks ids and URLs locally: exit 2, the rule in one line, no network")
    func localChecks() async throws {
        let directory = TemporaryFiles.directory(prefix: "rbk-cmd")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let keyring = BrokerHarness.writeClientKeyring(in: directory)
        // Port 1 answers nothing: a command that reached the network would exit 3.
        let nowhere = "http://127.0.0.1:1"
        let cases: [(arguments: [String], expected: String)] = [
            (
                ["status", "my project", "--broker-url", nowhere],
                "projectID must start with a letter or digit"
            ),
            (["versions", "../etc", "--broker-url", nowhere], "projectID must start with a letter or digit"),
            (["jobs", "show", "a b", "--broker-url", nowhere], "jobID must be 1–128 characters"),
            (
                ["events", "my project", "--broker-url", nowhere],
                "projectID must start with a letter or digit"
            ),
            (
                ["status", "shop", "--broker-url", "ftp://broker.example.com"],
                "expected http://host:port or https://host:port"
            ),
            (
                ["status", "shop", "--broker-url", "http://127.0.0.1:1/api"],
                "a path or query (/api) is not supported"
            ),
        ]
        for (arguments, expected) in cases {
            let run = try await CLITests.rollbackctl(arguments, keyring: keyring)
            #expect(run.status == 2, "\(arguments): \(run.stderr)")
            #expect(run.stderr.hasPrefix("rollbackctl: invalid_"), "\(arguments): \(run.stderr)")
            #expect(run.stderr.contains(expected), "\(arguments): \(run.stderr)")
            #expect(run.stderr.split(separator: "\n").count == 1, "\(arguments): \(run.stderr)")
        }
        // events fails in the same one-line form as every other command.
        let events = try await CLITests.rollbackctl(
            ["events", "shop", "--broker-url", nowhere],
            keyring: keyring
        )
        #expect(events.status == 3, "\(events.stderr)")
        #expect(events.stderr.hasPrefix("rollbackctl: unreachable: "), "\(events.stderr)")
        #expect(events.stderr.split(separator: "\n").count == 1, "\(events.stderr)")
    }
}
