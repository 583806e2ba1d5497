import RollbackProtocol

/// Where admitted builds go: the build system's queue. A Redis stream by default.
public protocol BuildSink: Sendable {
    /// Hands one build over. Throws when it could not be handed over (nothing was recorded).
    func submit(projectID: String, buildID: String, payload: String?) async throws
}

/// Appends admitted builds to a Redis stream (`XADD <stream> * projectId … buildId … payload …`)
/// for the build system to read with a consumer group.
public struct RedisStreamBuildSink: BuildSink {
    let redis: RedisClient
    public let stream: String

    public init(redis: RedisClient, stream: String) {
        self.redis = redis
        self.stream = stream
    }

    public func submit(projectID: String, buildID: String, payload: String?) async throws {
        let reply: RedisReply
        do {
            reply = try await redis.command([
                "XADD", stream, "*", "projectId", projectID, "buildId", buildID, "payload", payload ?? "null",
            ])
        } catch {
            throw APIError.redisUnavailable("\(error)")
        }
        if case .error(let message) = reply { throw APIError.redisUnavailable("XADD failed: \(message)") }
    }
}
