import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import PostgresNIO
import RollbackBroker
import RollbackProtocol
import Synchronization

/// The broker's router in this process, with no PostgreSQL and no Redis behind it: requests go
/// straight to the router (Hummingbird's `.router` testing). What these tests check — routing,
/// signatures, body validation — is decided before either is needed; a refusal's audit row is
/// attempted against a database that never answers and is given up after 50 ms.
enum RoutedBroker {
    static let secret = Array("routing-tests-secret-0123456789abcdef".utf8)
    static let keyring = try! Keyring(
        keys: [try! SigningKey(id: "web-1", secret: secret)],
        callers: ["web-1": "web"]
    )
    static let signer = HTTPRequestSigner(key: keyring.activeKey)

    static func test(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        var logger = Logger(label: "test.routes")
        logger.logLevel = .critical
        // Never run: nothing these tests do may reach a database.
        let postgres = PostgresClient(
            configuration: .init(
                host: "127.0.0.1",
                port: 1,
                username: "nobody",
                password: nil,
                database: "none",
                tls: .disable
            ),
            backgroundLogger: logger
        )
        let database = Database(client: postgres, timeout: .milliseconds(50), logger: logger)
        let api = BrokerAPI(
            database: database,
            redis: RedisClient(endpoint: try RedisEndpoint(url: "redis://127.0.0.1:1")),
            keys: RedisKeys(prefix: "routing-tests"),
            keyStore: KeyStore(AccessKeyring(serviceKeys: keyring)),
            settings: BrokerSettings(),
            replayGuard: MemoryReplayGuard(),
            logger: logger
        )
        try await Application(router: api.router()).test(.router) { client in try await body(client) }
    }

    /// Signed headers for `method target body`, plus `extra`.
    static func headers(
        _ method: String,
        _ target: String,
        body: [UInt8],
        timestamp: Int64 = UnixTime.now(),
        extra: [(String, String)] = []
    ) -> HTTPFields {
        var fields = HTTPFields()
        for (name, value) in signer.headers(method: method, target: target, body: body, timestamp: timestamp)
            + extra
        {
            fields.append(HTTPField(name: HTTPField.Name(name)!, value: value))
        }
        return fields
    }

    /// The `{ "error": { code, details } }` of a response.
    static func error(_ response: TestResponse) -> (code: String?, field: String?) {
        let body = try? JSONDecoder().decode(APIErrorBody.self, from: Data(response.body.readableBytesView))
        return (body?.error.code, body?.error.details["field"])
    }
}

/// Remembers tokens in memory, as Redis does for a broker.
final class MemoryReplayGuard: ReplayGuard {
    private let seen = Mutex<Set<String>>([])

    func firstUse(of token: String, ttlSeconds: Int) async throws -> Bool {
        seen.withLock { $0.insert(token).inserted }
    }
}
