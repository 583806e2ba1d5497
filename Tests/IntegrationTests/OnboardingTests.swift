import Crypto
import Foundation
import RollbackProtocol
import TestSupport
import Testing

/// A user registers their own project and versions with rollbackctl alone, as the build system
/// would, against a real broker, PostgreSQL and Redis.
@Suite("rollbackctl projects and versions add")
struct OnboardingTests {
    @Test(
        "projects create|list|show and versions add: --json parses back; bad input is one line with its exit code"
    )
    func onboarding() async throws {
        try await BrokerHarness.with { broker in
            let directory = TemporaryFiles.directory(prefix: "rbk-onboard")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let keyring = BrokerHarness.writeClientKeyring(in: directory)
            let user = "cli-user"  // CLITests.rollbackctl's ROLLBACK_USER
            func ctl(_ arguments: String...) async throws -> CLITests.Run {
                try await CLITests.rollbackctl(
                    arguments,
                    broker: broker,
                    keyring: keyring
                )
            }
            let project = "p-\(UUID().uuidString.prefix(8).lowercased())"

            let created = try await ctl(
                "projects",
                "create",
                "--project",
                project,
                "--host",
                "build-9",
                "--json"
            )
            #expect(created.status == 0, "\(created.stderr)")
            let view = try CLITests.decode(ProjectView.self, created.stdout)
            #expect(view.projectID == project && view.userID == user && view.host == "build-9")
            #expect(
                (try await ctl("projects", "create", "--project", project, "--host", "build-9")).status == 0
            )

            let zip = "\(directory)/v1.zip"
            let bytes = Data((0..<4096).map { UInt8($0 % 251) })
            try bytes.write(to: URL(fileURLWithPath: zip))
            let added = try await ctl(
                "versions",
                "add",
                "--project",
                project,
                "--version",
                "\(project)-v1",
                "--artifact",
                "https://artifacts.example.com/v1.zip",
                "--file",
                zip,
                "--preview-url",
                "https://v1.example.com",
                "--json"
            )
            #expect(added.status == 0, "\(added.stderr)")
            let version = try CLITests.decode(VersionView.self, added.stdout)
            #expect(
                version.artifactSHA256 == SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
            )
            #expect(version.artifactSize == 4096)
            let second = try await ctl(
                "versions",
                "add",
                "--project",
                project,
                "--version",
                "\(project)-v2",
                "--artifact",
                "https://artifacts.example.com/v2.zip",
                "--sha256",
                String(repeating: "b", count: 64),
                "--size",
                "10",
                "--preview-url",
                "https://v2.example.com",
                "--no-make-current"
            )
            #expect(second.stdout == "\(project): version \(project)-v2 registered\n", "\(second.stdout)")

            let listed = try await ctl("versions", project, "--json")
            #expect(try CLITests.decode(VersionList.self, listed.stdout).versions.count == 2)
            let shown = try await ctl("projects", "show", project, "--json")
            #expect(try CLITests.decode(ProjectView.self, shown.stdout).currentVersionID == "\(project)-v1")
            let all = try await ctl("projects", "list", "--user", user, "--json")
            let mine = try CLITests.decode(ProjectList.self, all.stdout).projects
            #expect(mine.contains { $0.projectID == project } && mine.allSatisfy { $0.userID == user })
            let table = try await ctl("projects", "list", "--user", user)
            #expect(table.stdout.hasPrefix("PROJECT") && table.stdout.contains(project), "\(table.stdout)")

            // Usage mistakes are caught locally (2); what the broker refuses is 1. One line each.
            for (arguments, status) in [
                (["projects", "create", "--project", project], Int32(2)),
                (
                    [
                        "versions", "add", "--project", project, "--version", "v3", "--artifact",
                        "https://a/x.zip",
                    ], 2
                ),
                (["projects", "create", "--project", "my project", "--host", "h"], 2),
                (
                    [
                        "versions", "add", "--project", project, "--version", "v3", "--artifact",
                        "https://a/x.zip",
                        "--sha256", String(repeating: "B", count: 64), "--size", "1",
                    ], 1
                ),
                (["projects", "create", "--project", project, "--host", "another-host"], 1),
            ] {
                let run = try await CLITests.rollbackctl(
                    arguments,
                    broker: broker,
                    keyring: keyring
                )
                #expect(run.status == status, "\(arguments): \(run.stderr)")
                #expect(run.stderr.split(separator: "\n").count == 1, "\(arguments): \(run.stderr)")
                #expect(run.stderr.hasPrefix("rollbackctl: "), "\(arguments): \(run.stderr)")
            }
        }
    }
}
