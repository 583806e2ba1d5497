#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Where PostgreSQL is, read from a `postgres://user:password@host:port/database` URL.
public struct PostgresEndpoint: Hashable, Sendable {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String

    public init(url: String) throws(EndpointError) {
        guard let components = URLComponents(string: url),
            ["postgres", "postgresql"].contains(components.scheme ?? ""),
            let host = components.host, !host.isEmpty
        else { throw EndpointError(url: url, reason: "expected postgres://user:password@host:port/database") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard let user = components.user, !user.isEmpty, !database.isEmpty else {
            throw EndpointError(url: url, reason: "a user name and a database name are required")
        }
        self.host = host
        self.port = components.port ?? 5432
        self.username = user
        self.password = components.password
        self.database = database
    }
}

/// Where Redis is, read from a `redis://host:port` URL.
public struct RedisEndpoint: Hashable, Sendable {
    public var host: String
    public var port: Int

    public init(url: String) throws(EndpointError) {
        guard let components = URLComponents(string: url), components.scheme == "redis",
            let host = components.host,
            !host.isEmpty
        else { throw EndpointError(url: url, reason: "expected redis://host:port") }
        self.host = host
        self.port = components.port ?? 6379
    }
}

/// A service URL that could not be used, with the reason. Never echoes a password.
public struct EndpointError: Error, Hashable, Sendable, CustomStringConvertible {
    public let url: String
    public let reason: String

    init(url: String, reason: String) {
        // Keep credentials out of logs and messages.
        if var components = URLComponents(string: url), components.password != nil {
            components.password = "***"
            self.url = components.string ?? "<unparseable URL>"
        } else {
            self.url = url
        }
        self.reason = reason
    }

    public var description: String { "\(url): \(reason)" }
}
