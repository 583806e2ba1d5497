import Foundation
import RollbackBroker
import RollbackProtocol
import TestSupport
import Testing

/// Freeze and unfreeze against a real broker, PostgreSQL and Redis (and, for
/// freezeAfterRollback, a real agent): held builds are neither released nor lost, and are
/// released in arrival order exactly once.
@Suite("Freeze: builds held until unfreeze")
struct FreezeTests {
    /// The build ids of `project` on the build stream, in stream order.
    static func streamed(_ broker: BrokerHarness, _ project: String) async throws -> [String] {
        guard
            case .array(let entries) = try await broker.redis(["XRANGE", broker.keys.buildStream, "-", "+"])
        else {
            return []
        }
        return entries.compactMap { entry -> String? in
            guard case .array(let parts) = entry, parts.count == 2, case .array(let fields) = parts[1] else {
                return nil
            }
            var values: [String: String] = [:]
            for pair in stride(from: 0, to: fields.count - 1, by: 2) {
                if case .string(let name) = fields[pair], case .string(let value) = fields[pair + 1] {
                    values[name] = value
                }
            }
            return values["projectId"] == project ? values["buildId"] : nil
        }
    }

    static func build(_ broker: BrokerHarness, _ project: String, _ id: String) async throws -> BuildAdmission
    {
        let response = try await broker.post(
            "/v1/builds",
            json: BuildRequest(projectID: project, buildID: id)
        )
        return try BrokerHarness.decode(BuildAdmission.self, response)
    }

    static func heldStates(_ broker: BrokerHarness, _ project: String) async throws -> String? {
        try await broker.value(
            "SELECT string_agg(build_id || ':' || state || ':' || (delivered_at IS NOT NULL)::text, ',' ORDER BY id) FROM held_builds WHERE project_id = '\(project)'"
        )
    }

    @Test("frozen: builds held, not sent; unfreeze releases them in arrival order once; discard purges them")
    func freezeAndUnfreeze() async throws {
        try await BrokerHarness.with { broker in
            let project = try await broker.makeProject()
            let id = project.id
            let freeze = try await broker.post(
                "/v1/projects/\(id)/freeze",
                json: FreezeRequest(userID: project.user, reason: "incident 4711")
            )
            try broker.expectStatus(freeze, 200)
            let frozen = try #require(try BrokerHarness.decode(ProjectView.self, freeze).frozen)
            #expect(frozen.by == project.user && frozen.reason == "incident 4711")
            let again = try await broker.post(
                "/v1/projects/\(id)/freeze",
                json: FreezeRequest(userID: project.user, reason: "again")
            )
            #expect(
                try BrokerHarness.decode(ProjectView.self, again).frozen == frozen,
                "a second freeze changes nothing"
            )

            for build in ["b1", "b2", "b3"] {
                let admission = try await Self.build(broker, id, build)
                #expect(
                    admission.disposition == .held && admission.message.contains("frozen by \(project.user)")
                )
            }
            #expect(try await Self.streamed(broker, id).isEmpty)
            #expect(try await Self.heldStates(broker, id) == "b1:held:false,b2:held:false,b3:held:false")

            let unfreeze = try await broker.post(
                "/v1/projects/\(id)/unfreeze",
                json: UnfreezeRequest(userID: project.user)
            )
            try broker.expectStatus(unfreeze, 200)
            let result = try BrokerHarness.decode(UnfreezeResult.self, unfreeze)
            #expect(result.releasedBuilds == ["b1", "b2", "b3"] && result.purgedBuilds.isEmpty)
            #expect(try await Self.streamed(broker, id) == ["b1", "b2", "b3"])
            #expect(
                try await Self.heldStates(broker, id) == "b1:released:true,b2:released:true,b3:released:true"
            )
            let second = try await broker.post(
                "/v1/projects/\(id)/unfreeze",
                json: UnfreezeRequest(userID: project.user)
            )
            #expect(try BrokerHarness.decode(UnfreezeResult.self, second).releasedBuilds.isEmpty)
            #expect(try await Self.streamed(broker, id) == ["b1", "b2", "b3"], "released exactly once")
            #expect(
                (try await Self.build(broker, id, "b4")).disposition == .accepted,
                "unfrozen: straight through"
            )

            // Freeze again, then discard what was held.
            try broker.expectStatus(
                try await broker.post(
                    "/v1/projects/\(id)/freeze",
                    json: FreezeRequest(userID: project.user, reason: "x")
                ),
                200
            )
            #expect((try await Self.build(broker, id, "b5")).disposition == .held)
            let discard = try await broker.post(
                "/v1/projects/\(id)/unfreeze",
                json: UnfreezeRequest(userID: project.user, reason: "superseded", discard: true)
            )
            #expect(try BrokerHarness.decode(UnfreezeResult.self, discard).purgedBuilds == ["b5"])
            #expect(try await Self.streamed(broker, id) == ["b1", "b2", "b3", "b4"])
            #expect(
                try await broker.value(
                    "SELECT state || ':' || reason FROM held_builds WHERE build_id = 'b5' AND project_id = '\(id)'"
                ) == "purged:superseded"
            )

            let events = try await broker.events(project: id) { $0.count >= 4 }
            #expect(
                events.map(\.event) == ["buildReleased", "buildReleased", "buildReleased", "buildPurged"]
            )

            let history = try await PreviousAndHistoryTests.history(broker, id)
            #expect(history.entries.prefix(4).map(\.kind) == [.unfreeze, .freeze, .unfreeze, .freeze])
            #expect(history.entries.first?.reason == "superseded; 1 held build(s) purged")

            // Only the owner, and a reason is required.
            let stranger = try await broker.post(
                "/v1/projects/\(id)/freeze",
                json: FreezeRequest(userID: "someone-else", reason: "x")
            )
            #expect(stranger.status == 403 && BrokerHarness.errorCode(stranger) == "project_not_owned")
            let blank = try await broker.post(
                "/v1/projects/\(id)/freeze",
                json: FreezeRequest(userID: project.user, reason: " ")
            )
            #expect(blank.status == 400 && BrokerHarness.errorCode(blank) == "invalid_field")
        }
    }

    @Test(
        "freezeAfterRollback: the rollback's success freezes the project and the builds held during it stay held"
    )
    func freezeAfterRollback() async throws {
        try await DispatchTests.withHost { host in
            let scene = try DispatchTests.Scene(host: host)
            try await BrokerHarness.with(roles: [.api, .dispatch], agents: [host]) { broker in
                let project = try await scene.project(on: broker)
                let settings = try await broker.post(
                    "/v1/projects/\(project)/settings",
                    json: ProjectSettingsRequest(userID: "u-\(project)", freezeAfterRollback: true)
                )
                #expect(try BrokerHarness.decode(ProjectView.self, settings).freezeAfterRollback)

                host.hold(scene.v1)
                _ = try await DispatchTests.rollback(broker, project, to: scene.v1ID)
                #expect((try await Self.build(broker, project, "during")).disposition == .held)
                host.release(scene.v1)
                try await DispatchTests.waitForStatus(broker, project, "deployed")

                let view = try BrokerHarness.decode(
                    ProjectView.self,
                    try await broker.send("GET", "/v1/projects/\(project)")
                )
                #expect(view.frozen?.by == "freezeAfterRollback")
                #expect(try await Self.heldStates(broker, project) == "during:held:false")
                #expect(try await Self.streamed(broker, project).isEmpty)
                #expect((try await Self.build(broker, project, "after")).disposition == .held)

                let result = try BrokerHarness.decode(
                    UnfreezeResult.self,
                    try await broker.post(
                        "/v1/projects/\(project)/unfreeze",
                        json: UnfreezeRequest(userID: "u-\(project)")
                    )
                )
                #expect(result.releasedBuilds == ["during", "after"])
                #expect(try await Self.streamed(broker, project) == ["during", "after"])
                let kinds = try await PreviousAndHistoryTests.history(broker, project).entries.prefix(4).map(
                    \.kind
                )
                #expect(kinds == [.unfreeze, .rollbackCompleted, .freeze, .rollbackStarted])
            }
        }
    }

    @Test(
        "rollbackctl freeze, unfreeze, settings: --json parses back, status shows the freeze, bad input is exit 2"
    )
    func commandLine() async throws {
        try await BrokerHarness.with { broker in
            let project = try await broker.makeProject()
            let id = project.id
            try await broker.execute("UPDATE projects SET user_id = 'cli-user' WHERE id = '\(id)'")
            let directory = TemporaryFiles.directory(prefix: "rbk-freeze-cli")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let keyring = BrokerHarness.writeClientKeyring(in: directory)
            func ctl(_ arguments: String...) async throws -> CLITests.Run {
                try await CLITests.rollbackctl(arguments, broker: broker, keyring: keyring)
            }

            let freeze = try await ctl("freeze", id, "--reason", "incident 4711", "--json")
            #expect(freeze.status == 0, "\(freeze.stderr)")
            #expect(try CLITests.decode(ProjectView.self, freeze.stdout).frozen?.reason == "incident 4711")
            #expect((try await Self.build(broker, id, "c1")).disposition == .held)
            let status = try await ctl("status", id)
            #expect(status.stdout.contains("frozen just now by cli-user: incident 4711"), "\(status.stdout)")

            let unfreeze = try await ctl("unfreeze", id, "--json")
            #expect(try CLITests.decode(UnfreezeResult.self, unfreeze.stdout).releasedBuilds == ["c1"])
            let human = try await ctl("unfreeze", id)
            #expect(human.stdout == "\(id): unfrozen; 0 held build(s) released\n", "\(human.stdout)")

            let settings = try await ctl("settings", id, "--freeze-after-rollback", "true", "--json")
            #expect(try CLITests.decode(ProjectView.self, settings.stdout).freezeAfterRollback)

            for bad in [
                ["freeze", id], ["unfreeze", "my project"],
                ["settings", id, "--freeze-after-rollback", "maybe"],
            ] {
                let run = try await CLITests.rollbackctl(bad, broker: broker, keyring: keyring)
                #expect(run.status == 2, "\(bad): \(run.stderr)")
                #expect(run.stderr.split(separator: "\n").count == 1, "\(bad): \(run.stderr)")
            }
        }
    }
}
