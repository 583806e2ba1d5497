import Foundation
import RollbackClient
import RollbackProtocol
import TestSupport
import Testing

/// `previous` as a rollback target, the project's history and the audit log, against a real
/// broker, dispatcher, agent, PostgreSQL and Redis.
@Suite("Rollback to previous, history and audit")
struct PreviousAndHistoryTests {
    static func history(
        _ broker: BrokerHarness,
        _ project: String,
        query: String = ""
    ) async throws -> HistoryPage {
        let response = try await broker.send("GET", "/v1/projects/\(project)/history\(query)")
        try broker.expectStatus(response, 200)
        return try BrokerHarness.decode(HistoryPage.self, response)
    }

    static func request(_ project: String, user: String? = nil, skip: Bool? = nil) -> RollbackRequest {
        RollbackRequest(
            userID: user ?? "u-\(project)",
            projectID: project,
            targetVersionID: RollbackRequest.previous,
            skipWorkingDirectory: skip,
            reason: "v2 broke checkout"
        )
    }

    @Test(
        "previous: two racing callers get one 200 naming the target and one 409; afterwards previous is the version before the rollback; history and audit say who, why and what came of it"
    )
    func previousRaceAndHistory() async throws {
        try await DispatchTests.withHost { host in
            let scene = try DispatchTests.Scene(host: host)
            try await BrokerHarness.with(roles: [.api, .dispatch], agents: [host]) { broker in
                let project = try await scene.project(on: broker)
                let resolved = try await broker.send("GET", "/v1/projects/\(project)/versions/previous")
                try broker.expectStatus(resolved, 200)
                #expect(try BrokerHarness.decode(VersionView.self, resolved).versionID == scene.v1ID)

                // Two callers at once, each with its own key: one wins, the other is told the
                // project is busy, whichever of the lock or the compare-and-set stopped it. The
                // download is held so the winner cannot finish before the loser is answered.
                host.hold(scene.v1)
                async let first = broker.rollback(Self.request(project), idempotencyKey: "race-a-\(project)")
                async let second = broker.rollback(Self.request(project), idempotencyKey: "race-b-\(project)")
                let answers = try await [first, second].sorted { $0.status < $1.status }
                #expect(answers.map(\.status) == [200, 409])
                #expect(BrokerHarness.errorCode(answers[1]) == "rollback_in_progress")
                let accepted = try BrokerHarness.decode(RollbackAccepted.self, answers[0])
                #expect(accepted.targetVersionID == scene.v1ID)
                host.release(scene.v1)
                try await DispatchTests.waitForStatus(broker, project, "deployed")
                #expect(
                    try String(contentsOfFile: "\(host.workRoot)/\(project)/index.html", encoding: .utf8)
                        == DispatchTests.newFiles["index.html"]
                )

                // Right after the rollback, previous is v2 (current before it), not v1 again.
                let again = try await broker.send("GET", "/v1/projects/\(project)/versions/previous")
                #expect(try BrokerHarness.decode(VersionView.self, again).versionID == scene.v2ID)
                let back = try await broker.rollback(Self.request(project))
                try broker.expectStatus(back, 200)
                let back2 = try BrokerHarness.decode(RollbackAccepted.self, back)
                #expect(back2.targetVersionID == scene.v2ID)
                try await DispatchTests.waitForStatus(broker, project, "deployed")

                let page = try await Self.history(broker, project)
                #expect(
                    page.entries.map(\.kind) == [
                        .rollbackCompleted, .rollbackStarted, .rollbackCompleted, .rollbackStarted, .build,
                        .build,
                    ]
                )
                #expect(page.nextCursor == nil)
                let newest = try #require(page.entries.first)
                #expect(newest.actor == "u-\(project)" && newest.reason == "v2 broke checkout")
                #expect(newest.caller == "web" || newest.caller == "web-1")
                #expect(newest.commitID?.count == 40 && newest.tag != nil)
                #expect((newest.durationMilliseconds ?? 0) > 0 && newest.outcome == "succeeded")
                #expect(
                    newest.targetVersionID == scene.v2ID && newest.toVersionID == back2.rollbackVersionID
                )
                let started = page.entries[3]
                #expect(started.fromVersionID == scene.v2ID && started.targetVersionID == scene.v1ID)
                #expect(started.toVersionID == accepted.rollbackVersionID && started.outcome == "accepted")
                #expect(
                    page.entries[4].fromVersionID == scene.v1ID && page.entries[4].toVersionID == scene.v2ID
                )
                #expect(
                    zip(page.entries, page.entries.dropFirst()).allSatisfy { $0.id > $1.id && $0.at >= $1.at }
                )

                // Pages: two at a time, no overlap, nothing missed.
                var seen: [Int64] = []
                var cursor: String?
                repeat {
                    let query = "?limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")
                    let part = try await Self.history(broker, project, query: query)
                    #expect(part.entries.count <= 2)
                    seen += part.entries.map(\.id)
                    cursor = part.nextCursor
                } while cursor != nil
                #expect(seen == page.entries.map(\.id))

                // The project says what is current and how it became so.
                let view = try BrokerHarness.decode(
                    ProjectView.self,
                    try await broker.send("GET", "/v1/projects/\(project)")
                )
                let current = try #require(view.current)
                #expect(current.versionID == back2.rollbackVersionID && current.kind == "rollback")
                #expect(current.parentVersionID == scene.v2ID && current.via == .rollbackStarted)
                #expect(current.actor == "u-\(project)" && current.reason == "v2 broke checkout")

                // The audit log: both accepted rollbacks, the refused racer, filters that work.
                let audit = try BrokerHarness.decode(
                    AuditPage.self,
                    try await broker.send("GET", "/v1/audit?project=\(project)&limit=200", key: "admin-1")
                )
                let rollbacks = audit.entries.filter { $0.action == "rollback" }
                #expect(rollbacks.filter { $0.outcome == "accepted" }.count == 2)
                #expect(rollbacks.contains { $0.outcome == "refused" && $0.reason == "rollback_in_progress" })
                #expect(audit.entries.allSatisfy { $0.projectID == project })
                let future = try BrokerHarness.decode(
                    AuditPage.self,
                    try await broker.send(
                        "GET",
                        "/v1/audit?project=\(project)&since=2099-01-01T00:00:00Z",
                        key: "admin-1"
                    )
                )
                #expect(future.entries.isEmpty)
                let byActor = try BrokerHarness.decode(
                    AuditPage.self,
                    try await broker.send("GET", "/v1/audit?actor=u-\(project)&limit=200", key: "admin-1")
                )
                #expect(!byActor.entries.isEmpty && byActor.entries.allSatisfy { $0.actor == "u-\(project)" })

                // Every event on the stream carries when it was written.
                let events = try await broker.events(project: project) { events in
                    events.filter { $0.event == "rollbackCompleted" }.count == 2
                }
                for event in events {
                    let object =
                        try JSONSerialization.jsonObject(with: Data(event.data.utf8)) as? [String: Any]
                    let at = try #require(object?["at"] as? String, "\(event.data)")
                    #expect(ISO8601DateFormatter().date(from: at) != nil, "\(at)")
                }
            }
        }
    }

    @Test(
        "previous: none that can be a target is 422 and writes nothing; a preview-only rollback is history too; the id previous is reserved"
    )
    func previousEdges() async throws {
        try await BrokerHarness.with { broker in
            let project = try await broker.makeProject()
            // v1 has no preview URL: it cannot be a target, so nothing is.
            try await broker.execute(
                "UPDATE project_versions SET preview_url = NULL WHERE id = '\(project.v1)'"
            )
            let before = try await broker.snapshot(project: project.id)
            let refused = try await broker.rollback(Self.request(project.id, user: project.user))
            try broker.expectStatus(refused, 422)
            #expect(BrokerHarness.errorCode(refused) == "no_previous_version")
            let probe = try await broker.send("GET", "/v1/projects/\(project.id)/versions/previous")
            #expect(probe.status == 422 && BrokerHarness.errorCode(probe) == "no_previous_version")
            #expect(try await broker.snapshot(project: project.id) == before)

            try await broker.execute(
                "UPDATE project_versions SET preview_url = 'https://v1.example.com' WHERE id = '\(project.v1)'"
            )
            let preview = try await broker.rollback(Self.request(project.id, user: project.user, skip: true))
            try broker.expectStatus(preview, 200)
            let accepted = try BrokerHarness.decode(RollbackAccepted.self, preview)
            #expect(accepted.targetVersionID == project.v1 && accepted.jobID == nil)
            let newest = try #require(try await Self.history(broker, project.id).entries.first)
            #expect(newest.kind == .previewOnly && newest.outcome == "succeeded")
            #expect(newest.fromVersionID == project.v2 && newest.toVersionID == accepted.rollbackVersionID)

            let reserved = try await broker.post(
                "/v1/projects/\(project.id)/versions",
                json: RegisterVersionRequest(
                    versionID: RollbackRequest.previous,
                    artifactURL: nil,
                    artifactSHA256: nil,
                    artifactSize: nil,
                    previewURL: "https://x.example.com"
                )
            )
            #expect(reserved.status == 400 && BrokerHarness.errorCode(reserved) == "invalid_field")

            for query in ["?limit=0", "?limit=201", "?cursor=abc", "?limit=x"] {
                let bad = try await broker.send("GET", "/v1/projects/\(project.id)/history\(query)")
                #expect(bad.status == 400 && BrokerHarness.errorCode(bad) == "invalid_field", "\(query)")
            }
            let badSince = try await broker.send("GET", "/v1/audit?since=yesterday", key: "admin-1")
            #expect(badSince.status == 400 && BrokerHarness.errorCode(badSince) == "invalid_field")
            let missing = try await broker.send("GET", "/v1/projects/nope-\(project.id)/history")
            #expect(missing.status == 404 && BrokerHarness.errorCode(missing) == "project_not_found")
        }
    }

    @Test(
        "rollbackctl: rollback without --to announces previous and goes there; history in a table and as JSON; bad input is one line, exit 2"
    )
    func commandLine() async throws {
        try await DispatchTests.withHost { host in
            let scene = try DispatchTests.Scene(host: host)
            try await BrokerHarness.with(roles: [.api, .dispatch], agents: [host]) { broker in
                let project = try await scene.project(on: broker)
                try await broker.execute("UPDATE projects SET user_id = 'cli-user' WHERE id = '\(project)'")
                let keyring = BrokerHarness.writeClientKeyring(in: host.directory)
                func ctl(_ arguments: String...) async throws -> CLITests.Run {
                    try await CLITests.rollbackctl(arguments, broker: broker, keyring: keyring)
                }

                let rollback = try await ctl(
                    "rollback",
                    "--project",
                    project,
                    "--reason",
                    "bad deploy",
                    "--wait"
                )
                #expect(rollback.status == 0, "\(rollback.stderr)")
                let lines = rollback.stdout.split(separator: "\n").map(String.init)
                #expect(
                    lines.first?.hasPrefix("\(project): \(scene.v2ID) → \(scene.v1ID) (built ") == true,
                    "\(rollback.stdout)"
                )
                #expect(lines.first?.hasSuffix(" by u-\(project))") == true, "\(rollback.stdout)")
                #expect(lines.contains { $0.hasPrefix("completed in ") }, "\(rollback.stdout)")

                let json = try await ctl("history", project, "--json")
                let page = try CLITests.decode(HistoryPage.self, json.stdout)
                #expect(page.entries.map(\.kind) == [.rollbackCompleted, .rollbackStarted, .build, .build])
                #expect(page.entries.first?.actor == "cli-user" && page.entries.first?.reason == "bad deploy")

                let table = try await ctl("history", project)
                let rows = table.stdout.split(separator: "\n")
                #expect(table.status == 0 && rows.count == 5, "\(table.stdout)")
                #expect(rows.first?.hasPrefix("WHEN") == true && rows[1].contains("rollbackCompleted"))
                #expect(
                    rows[1].contains("just now") && rows[1].contains("cli-user")
                        && rows[1].contains("bad deploy")
                )

                for bad in [
                    ["history", "my project"], ["history", project, "--limit", "0"],
                    ["rollback", "--project", "my project"],
                    ["rollback", "--project", project, "--to", "no/such"],
                ] {
                    let run = try await CLITests.rollbackctl(bad, broker: broker, keyring: keyring)
                    #expect(run.status == 2, "\(bad): \(run.stderr)")
                    #expect(run.stderr.split(separator: "\n").count == 1, "\(bad): \(run.stderr)")
                    #expect(run.stderr.hasPrefix("rollbackctl: "), "\(bad): \(run.stderr)")
                }

                // --json: previous right after the rollback is the version before it (v2).
                let again = try await ctl("rollback", "--project", project, "--wait", "--json")
                #expect(again.status == 0, "\(again.stderr)")
                let report = try CLITests.decode(CLITests.RollbackReport.self, again.stdout)
                #expect(report.accepted.targetVersionID == scene.v2ID && report.outcome == "completed")

                // A project with nothing to go back to: refused (exit 1), one line naming the code.
                let lone = try await broker.makeProject(
                    host: host.name,
                    versions: [("lone-\(project)", scene.v1)]
                )
                try await broker.execute("UPDATE projects SET user_id = 'cli-user' WHERE id = '\(lone)'")
                let none = try await ctl("rollback", "--project", lone)
                #expect(none.status == 1 && none.stderr.contains("no_previous_version"), "\(none.stderr)")
                #expect(none.stderr.split(separator: "\n").count == 1, "\(none.stderr)")
            }
        }
    }
}
