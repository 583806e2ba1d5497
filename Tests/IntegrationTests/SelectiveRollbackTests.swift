import Foundation
import RollbackBroker
import RollbackProtocol
import TestSupport
import Testing

/// A selective rollback (`only`) against a real broker, dispatcher, agent, PostgreSQL, Redis and
/// git: exactly the named paths change, the preview stays, and one build is requested.
@Suite("Selective rollback")
struct SelectiveRollbackTests {
    static let v1Files = [
        "src/config/a.json": "a1", "src/config/c.json": "c1", "src/app.js": "app1", "package.json": "p1",
        "README.md": "r1",
    ]
    static let v2Files = [
        "src/config/a.json": "a2", "src/config/b.json": "b2", "src/app.js": "app2", "package.json": "p2",
        "README.md": "r2",
    ]

    @Test(
        "only the named paths change (git diff against the previous commit), the preview stays, one build is requested; the preview shows the same change"
    )
    func selective() async throws {
        try await DispatchTests.withHost { host in
            let v1 = try host.makeArtifact("sel-v1", files: Self.v1Files)
            let v2 = try host.makeArtifact("sel-v2", files: Self.v2Files)
            try await BrokerHarness.with(roles: [.api, .dispatch], agents: [host]) { broker in
                let suffix = UUID().uuidString.prefix(6).lowercased()
                let (v1ID, v2ID) = ("s1-\(suffix)", "s2-\(suffix)")
                let project = try await broker.makeProject(
                    host: host.name,
                    versions: [(v1ID, v1), (v2ID, v2)]
                )
                try host.makeWorkingDirectory(project, files: Self.v2Files)
                let work = host.workingDirectory(project)
                let only = ["src/config/**", "package.json"]

                let preview = try BrokerHarness.decode(
                    RollbackPreview.self,
                    try await broker.post(
                        "/v1/versions/rollback/preview",
                        json: RollbackPreviewRequest(
                            userID: "u-\(project)",
                            projectID: project,
                            targetVersionID: v1ID,
                            only: only
                        )
                    )
                )
                #expect(preview.counts == .init(added: 1, changed: 2, removed: 1, unchanged: 2))
                #expect(preview.added == ["src/config/c.json"] && preview.removed == ["src/config/b.json"])
                #expect(preview.changed == ["package.json", "src/config/a.json"])

                let request = RollbackRequest(
                    userID: "u-\(project)",
                    projectID: project,
                    targetVersionID: v1ID,
                    reason: "restore the old config",
                    only: only
                )
                let response = try await broker.rollback(request)
                try broker.expectStatus(response, 200)
                let accepted = try BrokerHarness.decode(RollbackAccepted.self, response)
                #expect(
                    accepted.previewURL == "https://\(v2ID).preview.example.com",
                    "the preview does not switch"
                )
                try await DispatchTests.waitForStatus(broker, project, "deployed")

                let changed = try Shell.git("diff", "--name-status", "HEAD~1", "HEAD", in: work)
                #expect(
                    changed.split(separator: "\n").sorted() == [
                        "A\tsrc/config/c.json", "D\tsrc/config/b.json", "M\tpackage.json",
                        "M\tsrc/config/a.json",
                    ]
                )
                let stat = try Shell.git("diff", "--stat", "HEAD~1", "HEAD", in: work)
                #expect(stat.contains("4 files changed"), "\(stat)")
                #expect(try String(contentsOfFile: "\(work)/src/app.js", encoding: .utf8) == "app2")
                #expect(try Shell.git("tag", in: work).contains("rollback/\(accepted.rollbackVersionID)"))
                #expect(
                    try await broker.value("SELECT preview_url FROM projects WHERE id = '\(project)'")
                        == "https://\(v2ID).preview.example.com"
                )
                #expect(
                    try await broker.value(
                        "SELECT coalesce(preview_url, 'none') || ' ' || selective_paths::text FROM project_versions WHERE id = '\(accepted.rollbackVersionID)'"
                    ) == #"none ["src/config/**", "package.json"]"#
                )

                // One build of the result, on the build stream, with what it is.
                let builds = try await FreezeTests.streamed(broker, project)
                #expect(builds == ["rebuild-\(accepted.rollbackVersionID)"])
                let payload = try #require(
                    try await broker.value(
                        "SELECT payload FROM held_builds WHERE project_id = '\(project)' AND delivered_at IS NOT NULL"
                    )
                )
                let rebuild = try JSONDecoder().decode(SelectiveRebuild.self, from: Data(payload.utf8))
                #expect(
                    rebuild.only == only && rebuild.targetVersionID == v1ID && rebuild.commitID?.count == 40
                )

                // previous now means the version current before the selective rollback.
                let previous = try await broker.send("GET", "/v1/projects/\(project)/versions/previous")
                #expect(try BrokerHarness.decode(VersionView.self, previous).versionID == v2ID)

                // Bad input changes nothing.
                var bad = request
                bad.only = ["../etc/passwd"]
                #expect(BrokerHarness.errorCode(try await broker.rollback(bad)) == "invalid_field")
                bad.only = only
                bad.skipWorkingDirectory = true
                #expect(BrokerHarness.errorCode(try await broker.rollback(bad)) == "invalid_field")
            }
        }
    }
}
