import Foundation
import RollbackBroker
import RollbackClient
import RollbackProtocol
import Testing

@Suite("POST /v1/versions/rollback against PostgreSQL and Redis")
struct RollbackRequestTests {
    @Test("an accepted rollback writes every row and key the design names, in one go")
    func accepted() async throws {
        try await BrokerHarness.with(configure: { $0.maxRollbackDurationSeconds = 600 }) { broker in
            let project = try await broker.makeProject()
            let response = try await broker.rollback(
                RollbackRequest(
                    userID: project.user,
                    projectID: project.id,
                    targetVersionID: project.v1,
                    reason: "bad deploy"
                ),
                idempotencyKey: "key-\(project.id)"
            )
            try broker.expectStatus(response, 200)
            let accepted = try BrokerHarness.decode(RollbackAccepted.self, response)
            #expect(accepted.status == .rollingBack)
            #expect(accepted.previewURL == "https://\(project.v1).preview.example.com")
            #expect(accepted.targetVersionID == project.v1)
            #expect(accepted.epoch == 3)  // two versions registered (epochs 1, 2), then this rollback
            #expect(accepted.publishURL == "/v1/versions/\(accepted.rollbackVersionID)/publish")
            let jobID = try #require(accepted.jobID)

            // The project: status, epoch, current version, preview URL and active job switched together.
            let view = try BrokerHarness.decode(
                ProjectView.self,
                try await broker.send("GET", "/v1/projects/\(project.id)")
            )
            #expect(view.status == .rollingBack)
            #expect(view.epoch == 3)
            #expect(view.currentVersionID == accepted.rollbackVersionID)
            #expect(view.previewURL == accepted.previewURL)
            #expect(view.activeJobID == jobID)

            // The new version: a child of the target, with its metadata, unpublished, syncing.
            let versions = try BrokerHarness.decode(
                VersionList.self,
                try await broker.send("GET", "/v1/projects/\(project.id)/versions")
            )
            let rollbackVersion = try #require(
                versions.versions.first { $0.versionID == accepted.rollbackVersionID }
            )
            #expect(versions.versions.count == 3)
            #expect(rollbackVersion.parentVersionID == project.v1)
            #expect(rollbackVersion.kind == "rollback")
            #expect(rollbackVersion.status == .syncing)
            #expect(rollbackVersion.published == false)
            #expect(rollbackVersion.artifactSHA256 == String(repeating: "1", count: 64))
            #expect(rollbackVersion.deploymentID == "dep-\(project.v1)")

            // The job: queued, fenced by the epoch, remembering what to restore on failure.
            let job = try BrokerHarness.decode(
                JobView.self,
                try await broker.send("GET", "/v1/jobs/\(jobID)")
            )
            #expect(job.state == .queued)
            #expect(job.epoch == 3)
            #expect(job.versionID == accepted.rollbackVersionID)
            #expect(job.targetVersionID == project.v1)
            #expect(
                try await broker.count(
                    """
                    SELECT count(*) FROM jobs WHERE id = '\(jobID)' AND previous_version_id = '\(project.v2)'
                    AND previous_preview_url = 'https://\(project.v2).preview.example.com' AND previous_status = 'deployed'
                    AND host = 'build-host-1' AND requested_by = '\(project.user)'
                    """
                ) == 1
            )

            // Audit, event, idempotency rows.
            #expect(
                try await broker.count(
                    """
                    SELECT count(*) FROM audit_log WHERE project_id = '\(project.id)' AND action = 'rollback'
                    AND outcome = 'accepted' AND caller = 'web' AND actor = '\(project.user)' AND reason = 'bad deploy'
                    """
                ) == 1
            )
            #expect(
                try await broker.count(
                    "SELECT count(*) FROM events WHERE project_id = '\(project.id)' AND type = 'rollbackStarted' AND payload->>'jobId' = '\(jobID)'"
                ) == 1
            )
            #expect(
                try await broker.count(
                    """
                    SELECT count(*) FROM idempotency_keys WHERE caller = 'web' AND key = 'key-\(project.id)'
                    AND response_status = 200 AND expires_at > now() + interval '23 hours'
                    """
                ) == 1
            )

            // Redis: the lock holds the epoch with TTL = max duration + 60; the latest-version key is set.
            #expect(try await broker.redis(["GET", broker.keys.lock(project: project.id)]) == .string("3"))
            guard
                case .integer(let ttl) = try await broker.redis([
                    "TTL", broker.keys.lock(project: project.id),
                ])
            else {
                Issue.record("the lock has no TTL")
                return
            }
            #expect((600...660).contains(ttl))
            #expect(
                try await broker.redis(["GET", broker.keys.latestVersion(project: project.id)])
                    == .string(accepted.rollbackVersionID)
            )
            #expect(response.header("X-Request-Id") != nil)
        }
    }

    @Test("skipWorkingDirectory switches the preview with no job; the status and lock stay free")
    func skipWorkingDirectory() async throws {
        try await BrokerHarness.with { broker in
            let project = try await broker.makeProject()
            let response = try await broker.rollback(
                RollbackRequest(
                    userID: project.user,
                    projectID: project.id,
                    targetVersionID: project.v1,
                    skipWorkingDirectory: true
                )
            )
            try broker.expectStatus(response, 200)
            let accepted = try BrokerHarness.decode(RollbackAccepted.self, response)
            #expect(accepted.jobID == nil)
            #expect(accepted.status == .deployed)
            let view = try BrokerHarness.decode(
                ProjectView.self,
                try await broker.send("GET", "/v1/projects/\(project.id)")
            )
            #expect(view.status == .deployed)
            #expect(view.currentVersionID == accepted.rollbackVersionID)
            #expect(view.previewURL == "https://\(project.v1).preview.example.com")
            #expect(
                try await broker.count("SELECT count(*) FROM jobs WHERE project_id = '\(project.id)'") == 0
            )
            #expect(
                try await broker.count(
                    "SELECT count(*) FROM project_versions WHERE id = '\(accepted.rollbackVersionID)' AND status = 'ready'"
                ) == 1
            )
            #expect(try await broker.redis(["EXISTS", broker.keys.lock(project: project.id)]) == .integer(0))

            // A preview-only version can be published at once.
            let published = try await broker.post(accepted.publishURL, json: ["userId": project.user])
            try broker.expectStatus(published, 200)
            #expect(try BrokerHarness.decode(VersionView.self, published).published)

            // And another rollback may follow straight away.
            let again = try await broker.rollback(
                RollbackRequest(userID: project.user, projectID: project.id, targetVersionID: project.v2)
            )
            try broker.expectStatus(again, 200)
        }
    }

    @Test("50 concurrent rollbacks of one project: exactly one is accepted")
    func concurrentRollbacks() async throws {
        try await BrokerHarness.with { broker in
            let project = try await broker.makeProject()
            let statuses = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for index in 0..<50 {
                    group.addTask {
                        let response = try await broker.rollback(
                            RollbackRequest(
                                userID: project.user,
                                projectID: project.id,
                                targetVersionID: index % 2 == 0 ? project.v1 : project.v2
                            )
                        )
                        return (response.status, BrokerHarness.errorCode(response))
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0.0 == 200 }.count == 1)
            #expect(statuses.filter { $0.0 == 409 && $0.1 == "rollback_in_progress" }.count == 49)
            #expect(
                try await broker.count(
                    "SELECT count(*) FROM project_versions WHERE project_id = '\(project.id)' AND kind = 'rollback'"
                )
                    == 1
            )
            #expect(
                try await broker.count("SELECT count(*) FROM jobs WHERE project_id = '\(project.id)'") == 1
            )
            #expect(
                try await broker.count(
                    "SELECT count(*) FROM audit_log WHERE project_id = '\(project.id)' AND action = 'rollback' AND status_code = 409"
                ) == 49
            )
        }
    }

    @Test("50 concurrent requests with one Idempotency-Key: one version, one job; identical replays or 409")
    func concurrentIdempotentRequests() async throws {
        try await BrokerHarness.with { broker in
            let project = try await broker.makeProject()
            let request = RollbackRequest(
                userID: project.user,
                projectID: project.id,
                targetVersionID: project.v1
            )
            let key = "idem-\(project.id)"
            let responses = try await withThrowingTaskGroup(of: HTTP1Response.self) { group in
                for _ in 0..<50 {
                    group.addTask { try await broker.rollback(request, idempotencyKey: key) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let successes = responses.filter { $0.status == 200 }
            #expect(!successes.isEmpty)
            #expect(Set(successes.map(\.body)).count == 1, "every 200 carries the same body")
            // While the first runs, the others are told that their key is in flight — never that
            // the project is busy, which would read as someone else's rollback.
            for response in responses where response.status != 200 {
                #expect(response.status == 409)
                #expect(
                    BrokerHarness.errorCode(response) == "idempotency_key_in_flight",
                    "\(String(decoding: response.body, as: UTF8.self))"
                )
            }
            #expect(
                try await broker.count("SELECT count(*) FROM jobs WHERE project_id = '\(project.id)'") == 1
            )
            #expect(
                try await broker.count(
                    "SELECT count(*) FROM project_versions WHERE project_id = '\(project.id)' AND kind = 'rollback'"
                )
                    == 1
            )
            // Later, the same key still replays the same answer, marked as a replay.
            let replay = try await broker.rollback(request, idempotencyKey: key)
            try broker.expectStatus(replay, 200)
            #expect(replay.body == successes[0].body)
            #expect(replay.header("Idempotent-Replayed") == "true")
        }
    }

    @Test("the same Idempotency-Key with a different body: 422, nothing written but the audit row")
    func idempotencyKeyReused() async throws {
        try await BrokerHarness.with { broker in
            let project = try await broker.makeProject()
            let key = "reuse-\(project.id)"
            let first = try await broker.rollback(
                RollbackRequest(
                    userID: project.user,
                    projectID: project.id,
                    targetVersionID: project.v1,
                    skipWorkingDirectory: true
                ),
                idempotencyKey: key
            )
            try broker.expectStatus(first, 200)
            let versionsBefore = try await broker.count(
                "SELECT count(*) FROM project_versions WHERE project_id = '\(project.id)'"
            )
            let second = try await broker.rollback(
                RollbackRequest(
                    userID: project.user,
                    projectID: project.id,
                    targetVersionID: project.v2,
                    skipWorkingDirectory: true
                ),
                idempotencyKey: key
            )
            #expect(second.status == 422)
            #expect(BrokerHarness.errorCode(second) == "idempotency_key_reused")
            #expect(
                try await broker.count(
                    "SELECT count(*) FROM project_versions WHERE project_id = '\(project.id)'"
                ) == versionsBefore
            )
            #expect(try await broker.count("SELECT count(*) FROM idempotency_keys WHERE key = '\(key)'") == 1)
            #expect(
                try await broker.count(
                    "SELECT count(*) FROM audit_log WHERE project_id = '\(project.id)' AND reason = 'idempotency_key_reused' AND status_code = 422"
                ) == 1
            )
            // Key order and spacing do not change a request: the same request re-encoded replays.
            let respaced =
                #"{ "targetVersionId": "\#(project.v1)", "skipWorkingDirectory": true, "projectId": "\#(project.id)", "userId": "\#(project.user)" }"#
            let replay = try await broker.send(
                "POST",
                "/v1/versions/rollback",
                body: Array(respaced.utf8),
                idempotencyKey: key
            )
            try broker.expectStatus(replay, 200)
            #expect(replay.body == first.body)
            #expect(
                try await broker.count(
                    "SELECT count(*) FROM audit_log WHERE project_id = '\(project.id)' AND outcome = 'replayed' AND status_code = 200"
                ) == 1
            )
        }
    }

    @Test("with the Redis lock gone (FLUSHALL) a second rollback is still refused by PostgreSQL")
    func flushAllDuringRollback() async throws {
        let redis = try PrivateRedis()
        try await redis.start()
        try await BrokerHarness.with(redisURL: redis.url) { broker in
            let project = try await broker.makeProject()
            try broker.expectStatus(
                try await broker.rollback(
                    RollbackRequest(userID: project.user, projectID: project.id, targetVersionID: project.v1)
                ),
                200
            )
            #expect(try await broker.redis(["FLUSHALL"]) == .status("OK"))
            #expect(try await broker.redis(["EXISTS", broker.keys.lock(project: project.id)]) == .integer(0))
            let second = try await broker.rollback(
                RollbackRequest(userID: project.user, projectID: project.id, targetVersionID: project.v2)
            )
            #expect(second.status == 409)
            #expect(BrokerHarness.errorCode(second) == "rollback_in_progress")
            #expect(
                try await broker.count("SELECT count(*) FROM jobs WHERE project_id = '\(project.id)'") == 1
            )
        }
        try await redis.stop()
    }

    @Test(
        "a lock left behind by a finished rollback, or by an attempt that never wrote, does not block the next; a live one does"
    )
    func staleLock() async throws {
        try await BrokerHarness.with { broker in
            let project = try await broker.makeProject()
            let lockKey = broker.keys.lock(project: project.id)
            // The project is settled at epoch 2; a lock holding epoch 2 belongs to an attempt
            // that has ended (its outcome was written) but was never released.
            #expect(try await broker.redis(["SET", lockKey, "2", "EX", "600"]) == .status("OK"))
            let accepted = try await broker.rollback(
                RollbackRequest(userID: project.user, projectID: project.id, targetVersionID: project.v1)
            )
            try broker.expectStatus(accepted, 200)
            #expect(try await broker.redis(["GET", lockKey]) == .string("3"))

            // A lock newer than the settled epoch, taken just now (its whole TTL, 1800 + 60 s, is
            // left), is a live attempt: it is respected.
            let other = try await broker.makeProject()
            let otherKey = broker.keys.lock(project: other.id)
            #expect(try await broker.redis(["SET", otherKey, "3", "EX", "1860"]) == .status("OK"))
            let refused = try await broker.rollback(
                RollbackRequest(userID: other.user, projectID: other.id, targetVersionID: other.v1)
            )
            #expect(refused.status == 409)
            #expect(try await broker.redis(["GET", otherKey]) == .string("3"))
            #expect(try await broker.count("SELECT count(*) FROM jobs WHERE project_id = '\(other.id)'") == 0)

            // The same newer epoch, but taken 860 s ago (TTL 1000 of 1860): the attempt that
            // took it never wrote within its deadline (say Redis set the key and the reply was
            // lost). It is replaced: the next rollback is accepted and holds a fresh lock.
            let third = try await broker.makeProject()
            let thirdKey = broker.keys.lock(project: third.id)
            #expect(try await broker.redis(["SET", thirdKey, "3", "EX", "1000"]) == .status("OK"))
            let taken = try await broker.rollback(
                RollbackRequest(userID: third.user, projectID: third.id, targetVersionID: third.v1)
            )
            try broker.expectStatus(taken, 200)
            guard case .integer(let ttl) = try await broker.redis(["TTL", thirdKey]) else {
                Issue.record("the lock should have a TTL")
                return
            }
            #expect(ttl > 1800)
            #expect(try await broker.count("SELECT count(*) FROM jobs WHERE project_id = '\(third.id)'") == 1)
        }
    }

    @Test("Redis stopped: 503 redis_unavailable and no rows; served again once Redis is back")
    func redisStopped() async throws {
        let redis = try PrivateRedis()
        try await redis.start()
        try await BrokerHarness.with(redisURL: redis.url) { broker in
            let project = try await broker.makeProject()
            try await redis.stop()
            let refused = try await broker.rollback(
                RollbackRequest(userID: project.user, projectID: project.id, targetVersionID: project.v1)
            )
            #expect(refused.status == 503)
            #expect(BrokerHarness.errorCode(refused) == "redis_unavailable")
            #expect(
                try await broker.count(
                    "SELECT count(*) FROM project_versions WHERE project_id = '\(project.id)' AND kind = 'rollback'"
                )
                    == 0
            )
            #expect(
                try await broker.count("SELECT count(*) FROM jobs WHERE project_id = '\(project.id)'") == 0
            )
            #expect(
                try await broker.count(
                    "SELECT count(*) FROM projects WHERE id = '\(project.id)' AND status = 'deployed'"
                ) == 1
            )
            let notReady = try await broker.send("GET", "/readyz", signed: false)
            #expect(notReady.status == 503)

            try await redis.start()
            let accepted = try await broker.rollback(
                RollbackRequest(userID: project.user, projectID: project.id, targetVersionID: project.v1)
            )
            try broker.expectStatus(accepted, 200)
            #expect(try await broker.send("GET", "/readyz", signed: false).status == 200)
        }
        try await redis.stop()
    }

    @Test("PostgreSQL unreachable: 503 database_unavailable within the configured timeout")
    func postgresUnreachable() async throws {
        // A port where nothing listens stands for a PostgreSQL that is down; the shared one
        // cannot be stopped under the tests running beside this one.
        try await BrokerHarness.with(configure: {
            $0.postgresURL = "postgres://rollback:x@127.0.0.1:1/rollback"
            $0.databaseTimeoutMilliseconds = 1500
            $0.migrateOnStart = false
        }) { broker in
            let started = ContinuousClock.now
            let response = try await broker.rollback(
                RollbackRequest(userID: "u1", projectID: "p1", targetVersionID: "v1")
            )
            #expect(response.status == 503)
            #expect(BrokerHarness.errorCode(response) == "database_unavailable")
            // Far below the minutes a hung TCP connect could take; loose enough for a loaded CI machine.
            #expect(ContinuousClock.now - started < .seconds(10))
            let ready = try await broker.send("GET", "/readyz", signed: false)
            #expect(ready.status == 503)
            #expect(String(decoding: ready.body, as: UTF8.self).contains("\"redis\":\"ok\""))
        }
    }

    @Test("a user over the rate limit gets 429 with Retry-After, and an audit row")
    func rateLimited() async throws {
        // A day-long window: the fixed window must not roll over between the second and the third
        // request (with a minute it sometimes did on a loaded machine).
        try await BrokerHarness.with(configure: {
            $0.rateLimitPerUser = 2
            $0.rateLimitWindowSeconds = 86_400
        }) { broker in
            let project = try await broker.makeProject()
            let request = RollbackRequest(
                userID: project.user,
                projectID: project.id,
                targetVersionID: project.v1,
                skipWorkingDirectory: true
            )
            try broker.expectStatus(try await broker.rollback(request), 200)
            try broker.expectStatus(try await broker.rollback(request), 200)
            let limited = try await broker.rollback(request)
            #expect(limited.status == 429)
            #expect(BrokerHarness.errorCode(limited) == "rate_limited")
            let retryAfter = try #require(limited.header("Retry-After").flatMap(Int.init))
            #expect((1...86_401).contains(retryAfter))
            #expect(
                try await broker.count(
                    "SELECT count(*) FROM audit_log WHERE project_id = '\(project.id)' AND status_code = 429 AND reason = 'rate_limited'"
                ) == 1
            )
        }
    }
}
