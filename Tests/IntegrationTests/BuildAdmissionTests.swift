import Foundation
import RollbackBroker
import RollbackClient
import RollbackProtocol
import Testing

@Suite("Builds, publishing and reads")
struct BuildAdmissionTests {
    @Test("builds: settled → build stream, rollingBack → held in PostgreSQL, rollbackFailed → 409")
    func admission() async throws {
        try await BrokerHarness.with { broker in
            let project = try await broker.makeProject()
            let accepted = try await broker.post(
                "/v1/builds",
                json: BuildRequest(
                    projectID: project.id,
                    buildID: "b1",
                    payload: .object(["commit": .string("abc")])
                )
            )
            try broker.expectStatus(accepted, 200)
            #expect(try BrokerHarness.decode(BuildAdmission.self, accepted).disposition == .accepted)
            guard
                case .array(let entries) = try await broker.redis([
                    "XRANGE", broker.keys.buildStream, "-", "+",
                ])
            else {
                Issue.record("no build stream")
                return
            }
            #expect(entries.count == 1)
            #expect("\(entries)".contains(project.id) && "\(entries)".contains("commit"))

            try broker.expectStatus(
                try await broker.rollback(
                    RollbackRequest(userID: project.user, projectID: project.id, targetVersionID: project.v1)
                ),
                200
            )
            for build in ["b2", "b3", "b2"] {
                let held = try await broker.post(
                    "/v1/builds",
                    json: BuildRequest(projectID: project.id, buildID: build)
                )
                try broker.expectStatus(held, 202)
                #expect(try BrokerHarness.decode(BuildAdmission.self, held).disposition == .held)
            }
            #expect(
                try await broker.count(
                    "SELECT count(*) FROM held_builds WHERE project_id = '\(project.id)' AND state = 'held'"
                ) == 2
            )
            guard
                case .array(let after) = try await broker.redis(["XRANGE", broker.keys.buildStream, "-", "+"])
            else { return }
            #expect(after.count == 1, "held builds do not reach the stream")

            try await broker.execute(
                "UPDATE projects SET status = 'rollbackFailed' WHERE id = '\(project.id)'"
            )
            let refused = try await broker.post(
                "/v1/builds",
                json: BuildRequest(projectID: project.id, buildID: "b4")
            )
            #expect(refused.status == 409)
            #expect(BrokerHarness.errorCode(refused) == "rollback_failed")

            let unknown = try await broker.post(
                "/v1/builds",
                json: BuildRequest(projectID: "nope-\(project.id)", buildID: "b5")
            )
            #expect(unknown.status == 404)
        }
    }

    @Test("publish: a syncing version waits, a ready one publishes once; reads show parents")
    func publishAndReads() async throws {
        try await BrokerHarness.with { broker in
            let project = try await broker.makeProject()
            let accepted = try BrokerHarness.decode(
                RollbackAccepted.self,
                try await broker.rollback(
                    RollbackRequest(userID: project.user, projectID: project.id, targetVersionID: project.v1)
                )
            )
            let syncing = try await broker.post(accepted.publishURL, json: ["userId": project.user])
            #expect(syncing.status == 409)
            #expect(BrokerHarness.errorCode(syncing) == "version_syncing")

            let notOwner = try await broker.post(
                "/v1/versions/\(project.v2)/publish",
                json: ["userId": "someone-else"]
            )
            #expect(notOwner.status == 403)
            let first = try await broker.post(
                "/v1/versions/\(project.v2)/publish",
                json: ["userId": project.user]
            )
            try broker.expectStatus(first, 200)
            let again = try await broker.post(
                "/v1/versions/\(project.v2)/publish",
                json: ["userId": project.user]
            )
            try broker.expectStatus(again, 200)
            #expect(
                try BrokerHarness.decode(VersionView.self, again).publishedAt
                    == BrokerHarness.decode(VersionView.self, first).publishedAt
            )
            #expect(
                try await broker.count(
                    "SELECT count(*) FROM audit_log WHERE project_id = '\(project.id)' AND action = 'publish' AND outcome = 'accepted'"
                )
                    == 1
            )

            let versions = try BrokerHarness.decode(
                VersionList.self,
                try await broker.send("GET", "/v1/projects/\(project.id)/versions")
            )
            #expect(
                versions.versions.map(\.versionID) == [project.v1, project.v2, accepted.rollbackVersionID]
            )
            #expect(versions.versions.map(\.parentVersionID) == [nil, nil, project.v1])

            #expect(try await broker.send("GET", "/v1/jobs/\(UUID().uuidString)").status == 404)
            #expect(
                BrokerHarness.errorCode(try await broker.send("GET", "/v1/jobs/not-a-uuid"))
                    == "invalid_field"
            )
            #expect(
                BrokerHarness.errorCode(try await broker.send("GET", "/v1/projects/nope-\(project.id)"))
                    == "project_not_found"
            )
            #expect(try await broker.send("GET", "/v1/projects/\(project.id)", signed: false).status == 401)

            // Registering the same project again with other data is a conflict, the same data is fine.
            let same = try await broker.post(
                "/v1/projects",
                json: RegisterProjectRequest(
                    projectID: project.id,
                    userID: project.user,
                    host: "build-host-1"
                )
            )
            #expect(same.status == 200)
            let moved = try await broker.post(
                "/v1/projects",
                json: RegisterProjectRequest(projectID: project.id, userID: project.user, host: "elsewhere")
            )
            #expect(BrokerHarness.errorCode(moved) == "project_exists")
            // A new current version must wait while the project rolls back.
            let during = try await broker.post(
                "/v1/projects/\(project.id)/versions",
                json: RegisterVersionRequest(
                    versionID: "v3-\(project.id)",
                    artifactURL: nil,
                    artifactSHA256: nil,
                    artifactSize: nil,
                    previewURL: nil
                )
            )
            #expect(BrokerHarness.errorCode(during) == "rollback_in_progress")
        }
    }
}
