import Foundation
import RollbackBroker
import RollbackClient
import RollbackProtocol
import TestSupport
import Testing

/// Preview (a dry run on the host's agent) and cancel (before the agent's swap), against a real
/// broker, dispatcher, agent, PostgreSQL, Redis and git. The cancel tests pause the agent at its
/// point of no return (`ROLLBACK_AGENT_TEST_PAUSE_POINT`) so they act exactly at the boundary.
@Suite("Preview and cancel")
struct PreviewAndCancelTests {
    /// A broker answer with its error code read once.
    struct Answer {
        let status: Int
        let code: String?
        let response: HTTP1Response
    }

    /// Every path under `directory` with its type, mode, size and (for files) SHA-256: equal
    /// snapshots mean byte-identical trees (`.git` included).
    static func snapshot(_ directory: String) throws -> String {
        try Shell.run([
            "/bin/bash", "-c",
            "cd '\(directory)' && find . -printf '%p %y %m %s\\n' | LC_ALL=C sort && "
                + "find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum",
        ])
    }

    static func preview(
        _ broker: BrokerHarness,
        _ project: String,
        to target: String = RollbackRequest.previous,
        limit: Int? = nil
    ) async throws -> Answer {
        let response = try await broker.post(
            "/v1/versions/rollback/preview",
            json: RollbackPreviewRequest(
                userID: "u-\(project)",
                projectID: project,
                targetVersionID: target,
                limit: limit
            )
        )
        return Answer(status: response.status, code: BrokerHarness.errorCode(response), response: response)
    }

    static func cancel(
        _ broker: BrokerHarness,
        _ project: String,
        user: String? = nil
    ) async throws
        -> Answer
    {
        let response = try await broker.post(
            "/v1/projects/\(project)/rollback/cancel",
            json: RollbackCancelRequest(userID: user ?? "u-\(project)", reason: "wrong version")
        )
        return Answer(status: response.status, code: BrokerHarness.errorCode(response), response: response)
    }

    static func eventTypes(_ broker: BrokerHarness, _ project: String) async throws -> [String] {
        let joined = try await broker.value(
            "SELECT string_agg(type, ',' ORDER BY id) FROM events WHERE project_id = '\(project)'"
        )
        return joined.map { $0.split(separator: ",").map(String.init) } ?? []
    }

    @Test(
        "a preview lists what would change, changes no table, no agent state (epoch included) and no file, and is 409 while rolling back"
    )
    func previewChangesNothing() async throws {
        try await DispatchTests.withHost { host in
            let scene = try DispatchTests.Scene(host: host)
            try await BrokerHarness.with(roles: [.api, .dispatch], agents: [host]) { broker in
                let project = try await scene.project(on: broker)
                let state = "\(host.directory)/state"
                let (tablesBefore, stateBefore, workBefore) = (
                    try await broker.snapshot(project: project), try Self.snapshot(state),
                    try Self.snapshot(host.workRoot)
                )

                let answer = try await Self.preview(broker, project)
                try broker.expectStatus(answer.response, 200)
                let preview = try BrokerHarness.decode(RollbackPreview.self, answer.response)
                #expect(preview.targetVersionID == scene.v1ID && preview.currentVersionID == scene.v2ID)
                #expect(preview.counts == .init(added: 1, changed: 1, removed: 1, unchanged: 0))
                #expect(preview.added == ["app/main.js"] && preview.changed == ["index.html"])
                #expect(preview.removed == ["extra.txt"] && !preview.truncated && preview.limit == 100)
                #expect(!preview.artifactCached && preview.bytesToDownload == scene.v1.size)
                #expect(
                    preview.bytesToWrite
                        == Int64(DispatchTests.newFiles.values.map(\.utf8.count).reduce(0, +))
                )

                #expect(try await broker.snapshot(project: project) == tablesBefore)
                #expect(
                    try Self.snapshot(state) == stateBefore,
                    "no epoch, no job record, no cached artifact"
                )
                #expect(try Self.snapshot(host.workRoot) == workBefore)
                #expect(
                    try await broker.count(
                        "SELECT count(*) FROM audit_log WHERE project_id = '\(project)' AND action = 'rollback.preview' AND outcome = 'ok'"
                    ) == 1
                )

                let cut = try BrokerHarness.decode(
                    RollbackPreview.self,
                    try await Self.preview(broker, project, limit: 0).response
                )
                #expect(cut.truncated && cut.added.isEmpty && cut.counts.added == 1)

                // Bad input: refused with a specific code, nothing asked of the agent.
                #expect(try await Self.preview(broker, project, limit: 5000).code == "invalid_field")
                #expect(try await Self.preview(broker, project, to: "nope").code == "version_not_found")
                #expect(try await Self.preview(broker, "p-missing").code == "project_not_found")

                // While rolling back: 409. Afterwards the target's artifact is cached on the host.
                host.hold(scene.v1)
                try broker.expectStatus(
                    try await broker.rollback(PreviousAndHistoryTests.request(project)),
                    200
                )
                let busy = try await Self.preview(broker, project, to: scene.v1ID)
                #expect(busy.status == 409 && busy.code == "rollback_in_progress")
                host.release(scene.v1)
                try await DispatchTests.waitForStatus(broker, project, "deployed")
                let back = try BrokerHarness.decode(
                    RollbackPreview.self,
                    try await Self.preview(broker, project, to: scene.v1ID).response
                )
                #expect(back.artifactCached && back.bytesToDownload == 0)
                #expect(back.counts == .init(added: 0, changed: 0, removed: 0, unchanged: 2))
            }
        }
    }

    /// A host whose agent stops every sync at `point` until released (or cancelled).
    static func withPausingHost<T>(
        at point: String,
        _ body: (AgentHost, Pause) async throws -> T
    ) async throws -> T {
        let host = try await AgentHost()
        defer { host.shutdown() }
        let pause = Pause(directory: "\(host.directory)/pause", point: point)
        try FileManager.default.createDirectory(atPath: pause.directory, withIntermediateDirectories: true)
        try await host.start(environment: [
            "ROLLBACK_AGENT_TEST_PAUSE_POINT": point, "ROLLBACK_AGENT_TEST_PAUSE_DIR": pause.directory,
        ])
        return try await body(host, pause)
    }

    struct Pause {
        let directory: String
        let point: String

        func waitUntilReached() async throws {
            try await waitUntil(timeout: .seconds(30), "the agent to reach \(point)") {
                FileManager.default.fileExists(atPath: "\(directory)/\(point).reached")
            }
        }

        func release() {
            _ = FileManager.default.createFile(atPath: "\(directory)/\(point).release", contents: nil)
        }

        /// Arms the point again for the next sync.
        func rearm() {
            for suffix in ["reached", "release"] {
                try? FileManager.default.removeItem(atPath: "\(directory)/\(point).\(suffix)")
            }
        }
    }

    @Test(
        "cancel before the swap: tree and .git byte-identical, the project as it was, held builds released, history and events say so; a second cancel answers the same"
    )
    func cancelBeforeSwap() async throws {
        try await Self.withPausingHost(at: "before-point-of-no-return") { host, pause in
            let scene = try DispatchTests.Scene(host: host)
            try await BrokerHarness.with(roles: [.api, .dispatch], agents: [host]) { broker in
                let project = try await scene.project(on: broker)
                let work = host.workingDirectory(project)
                let treeBefore = try Self.snapshot(work)
                let projectBefore = try await broker.value(
                    "SELECT status || ' ' || current_version_id || ' ' || preview_url FROM projects WHERE id = '\(project)'"
                )

                let started = try await broker.rollback(PreviousAndHistoryTests.request(project))
                try broker.expectStatus(started, 200)
                let accepted = try BrokerHarness.decode(RollbackAccepted.self, started)
                try await pause.waitUntilReached()
                let held = try await FreezeTests.build(broker, project, "b-during")
                #expect(held.disposition == .held)

                let answer = try await Self.cancel(broker, project)
                try broker.expectStatus(answer.response, 200)
                let canceled = try BrokerHarness.decode(RollbackCancellation.self, answer.response)
                #expect(canceled.state == .canceled && canceled.status == .deployed)
                #expect(
                    canceled.restoredVersionID == scene.v2ID
                        && canceled.rollbackVersionID == accepted.rollbackVersionID
                )
                #expect(canceled.restoredPreviewURL == "https://\(scene.v2ID).preview.example.com")

                #expect(try Self.snapshot(work) == treeBefore, "the working directory and .git are untouched")
                try Shell.git("fsck", in: work)
                #expect(
                    try await broker.value(
                        "SELECT status || ' ' || current_version_id || ' ' || preview_url FROM projects WHERE id = '\(project)'"
                    ) == projectBefore
                )
                #expect(
                    try await broker.value(
                        "SELECT state FROM jobs WHERE id = '\(try #require(accepted.jobID))'"
                    )
                        == "canceled"
                )
                #expect(
                    try await broker.value(
                        "SELECT status FROM project_versions WHERE id = '\(accepted.rollbackVersionID)'"
                    ) == "canceled"
                )
                #expect(try await FreezeTests.heldStates(broker, project) == "b-during:released:true")
                #expect(
                    try await Self.eventTypes(broker, project).suffix(2) == [
                        "rollbackCanceled", "buildReleased",
                    ]
                )
                let history = try await PreviousAndHistoryTests.history(broker, project)
                let entry = try #require(history.entries.first)
                #expect(entry.kind == .rollbackCanceled && entry.actor == "u-\(project)")
                #expect(entry.reason == "wrong version" && entry.toVersionID == scene.v2ID)

                // Idempotent: the same cancel again answers the same; a project that is not
                // rolling back has nothing to cancel.
                let again = try await Self.cancel(broker, project)
                #expect(try BrokerHarness.decode(RollbackCancellation.self, again.response) == canceled)
                let other = try await broker.makeProject()
                #expect(
                    try await Self.cancel(broker, other.id, user: other.user).code
                        == "no_rollback_in_progress"
                )
                #expect(try await Self.cancel(broker, project, user: "mallory").code == "project_not_owned")

                // The canceled version is no target; previous is still v1, and a rollback to it
                // goes through once the agent is let go.
                pause.release()
                let previous = try await broker.send("GET", "/v1/projects/\(project)/versions/previous")
                #expect(try BrokerHarness.decode(VersionView.self, previous).versionID == scene.v1ID)
                try broker.expectStatus(
                    try await broker.rollback(PreviousAndHistoryTests.request(project)),
                    200
                )
                try await DispatchTests.waitForStatus(broker, project, "deployed")
            }
        }
    }

    @Test("cancel after the swap: 409 too_late_to_cancel, and the rollback completes once")
    func cancelAfterSwap() async throws {
        try await Self.withPausingHost(at: "after-point-of-no-return") { host, pause in
            let scene = try DispatchTests.Scene(host: host)
            try await BrokerHarness.with(roles: [.api, .dispatch], agents: [host]) { broker in
                let project = try await scene.project(on: broker)
                try broker.expectStatus(
                    try await broker.rollback(PreviousAndHistoryTests.request(project)),
                    200
                )
                try await pause.waitUntilReached()
                let answer = try await Self.cancel(broker, project)
                #expect(answer.status == 409 && answer.code == "too_late_to_cancel")
                pause.release()
                try await DispatchTests.waitForStatus(broker, project, "deployed")
                let events = try await Self.eventTypes(broker, project)
                #expect(
                    events.filter { $0 == "rollbackCompleted" }.count == 1
                        && !events.contains("rollbackCanceled")
                )
                #expect(
                    try String(
                        contentsOfFile: "\(host.workingDirectory(project))/index.html",
                        encoding: .utf8
                    )
                        == DispatchTests.newFiles["index.html"]
                )
                #expect(
                    try await Self.cancel(broker, project).code == "too_late_to_cancel",
                    "answered the same again"
                )
            }
        }
    }

    @Test("a cancel racing the swap ends in exactly one outcome, and the answer says which")
    func cancelRacingSwap() async throws {
        try await Self.withPausingHost(at: "before-point-of-no-return") { host, pause in
            try await BrokerHarness.with(roles: [.api, .dispatch], agents: [host]) { broker in
                for _ in 0..<3 {
                    pause.rearm()
                    let scene = try DispatchTests.Scene(host: host)
                    let project = try await scene.project(on: broker)
                    let work = host.workingDirectory(project)
                    let treeBefore = try Self.snapshot(work)
                    try broker.expectStatus(
                        try await broker.rollback(PreviousAndHistoryTests.request(project)),
                        200
                    )
                    try await pause.waitUntilReached()
                    // Let the job go and cancel it at the same instant.
                    async let answer = Self.cancel(broker, project)
                    pause.release()
                    let result = try await answer
                    _ = try await eventually(timeout: .seconds(30)) {
                        try await DispatchTests.status(broker, project) != "rollingBack"
                    }
                    let events = try await Self.eventTypes(broker, project)
                    let outcomes = events.filter {
                        ["rollbackCompleted", "rollbackCanceled", "rollbackFailed"].contains($0)
                    }
                    #expect(outcomes.count == 1, "\(events)")
                    switch result.status {
                    case 200:
                        #expect(outcomes == ["rollbackCanceled"])
                        #expect(try Self.snapshot(work) == treeBefore)
                    case 409:
                        #expect(result.code == "too_late_to_cancel" && outcomes == ["rollbackCompleted"])
                        #expect(try Shell.git("tag", in: work).contains("rollback/"))
                    default:
                        Issue.record("unexpected answer \(result.status) \(result.code ?? "-")")
                    }
                }
            }
        }
    }

    @Test(
        "an API instance that cannot reach the agent: the dispatcher's heartbeat passes the cancel on, and the answer still says canceled"
    )
    func cancelThroughTheDispatcher() async throws {
        try await Self.withPausingHost(at: "before-point-of-no-return") { host, pause in
            let scene = try DispatchTests.Scene(host: host)
            // The API without agents; the job runs in a separate `rollback-broker dispatch`.
            try await BrokerHarness.with(roles: [.api], agents: []) { broker in
                let project = try await scene.project(on: broker)
                let work = host.workingDirectory(project)
                let tree = try Self.snapshot(work)
                let dispatcher = try DispatcherProcess(broker: broker, host: host)
                defer { dispatcher.kill() }
                try dispatcher.start()
                try broker.expectStatus(
                    try await broker.rollback(PreviousAndHistoryTests.request(project)),
                    200
                )
                try await pause.waitUntilReached()

                let answer = try await Self.cancel(broker, project)
                try broker.expectStatus(answer.response, 200)
                #expect(
                    try BrokerHarness.decode(RollbackCancellation.self, answer.response).state == .canceled
                )
                #expect(try Self.snapshot(work) == tree)
                #expect(
                    dispatcher.log.contains("cancel passed on to the agent"),
                    "\(dispatcher.log.suffix(2000))"
                )

                // A preview needs the agent: this instance says why it cannot.
                let preview = try await Self.preview(broker, project)
                #expect(preview.status == 503 && preview.code == "agent_unreachable")
            }
        }
    }

    @Test("a job waiting for its next attempt (agent down) is canceled by the API at once")
    func cancelBetweenAttempts() async throws {
        let host = try await AgentHost()
        defer { host.shutdown() }
        let scene = try DispatchTests.Scene(host: host)
        try await BrokerHarness.with(
            roles: [.api, .dispatch],
            agents: [host],
            configure: { $0.retryBackoffMilliseconds = 60_000 }
        ) { broker in
            let project = try await scene.project(on: broker)
            let work = host.workingDirectory(project)
            let tree = try Self.snapshot(work)
            let started = try BrokerHarness.decode(
                RollbackAccepted.self,
                try await broker.rollback(PreviousAndHistoryTests.request(project))
            )
            let jobID = try #require(started.jobID)
            try await waitUntil(timeout: .seconds(30), "the first attempt to fail and wait for a retry") {
                try await broker.value("SELECT state || ' ' || attempts FROM jobs WHERE id = '\(jobID)'")
                    == "queued 1"
            }
            let clock = ContinuousClock()
            let began = clock.now
            let answer = try await Self.cancel(broker, project)
            try broker.expectStatus(answer.response, 200)
            // The retry is a minute away: far below that is "at once", even on a loaded 2-core CI.
            #expect(clock.now - began < .seconds(15), "no waiting for the agent or the retry")
            #expect(try await broker.value("SELECT state FROM jobs WHERE id = '\(jobID)'") == "canceled")
            #expect(try await DispatchTests.status(broker, project) == "deployed")
            #expect(try Self.snapshot(work) == tree)
        }
    }

    @Test(
        "an agent stopping (SIGTERM) cancels a sync before its swap, but nobody asked to cancel the rollback: it is retried and completes, not failed"
    )
    func agentShutdownIsNotACancel() async throws {
        let host = try await AgentHost()
        defer { host.shutdown() }
        let pause = Pause(directory: "\(host.directory)/pause", point: "before-point-of-no-return")
        try FileManager.default.createDirectory(atPath: pause.directory, withIntermediateDirectories: true)
        try await host.start(
            extraArguments: ["--set", "shutdownGraceSeconds=1"],
            environment: [
                "ROLLBACK_AGENT_TEST_PAUSE_POINT": pause.point,
                "ROLLBACK_AGENT_TEST_PAUSE_DIR": pause.directory,
            ]
        )
        let scene = try DispatchTests.Scene(host: host)
        try await BrokerHarness.with(
            roles: [.api, .dispatch],
            agents: [host],
            configure: { $0.retryBackoffMilliseconds = 1000 }
        ) { broker in
            let project = try await scene.project(on: broker)
            try broker.expectStatus(try await broker.rollback(PreviousAndHistoryTests.request(project)), 200)
            try await pause.waitUntilReached()
            try await host.stop()  // the grace period runs out at the pause: the sync is cancelled
            try await host.start()
            try await DispatchTests.waitForStatus(broker, project, "deployed")
            let events = try await Self.eventTypes(broker, project)
            #expect(events.contains("rollbackCompleted") && !events.contains("rollbackFailed"), "\(events)")
        }
    }
}
