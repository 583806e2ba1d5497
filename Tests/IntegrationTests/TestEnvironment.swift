import Foundation
import RollbackBroker
import Testing

/// The services `.ci/run` starts. Integration tests fail, never skip, when one is missing.
enum TestEnvironment {
    static func postgres() throws -> PostgresEndpoint {
        try PostgresEndpoint(url: try postgresURL())
    }

    static func redis() throws -> RedisEndpoint {
        try RedisEndpoint(url: try redisURL())
    }

    static func postgresURL() throws -> String { try required("ROLLBACK_TEST_POSTGRES_URL") }
    static func redisURL() throws -> String { try required("ROLLBACK_TEST_REDIS_URL") }

    private static func required(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            throw MissingService(variable: name)
        }
        return value
    }

    struct MissingService: Error, CustomStringConvertible {
        let variable: String
        var description: String {
            "\(variable) is not set: integration tests need the PostgreSQL and Redis that `bash .ci/run` starts"
        }
    }
}
