import PostgresNIO

extension PostgresEndpoint {
    /// A single connection's configuration (no TLS, two seconds to connect): for the start-up
    /// check and the change listener, which hold connections of their own outside the pool.
    var connectionConfiguration: PostgresConnection.Configuration {
        var configuration = PostgresConnection.Configuration(
            host: host,
            port: port,
            username: username,
            password: password,
            database: database,
            tls: .disable
        )
        configuration.options.connectTimeout = .seconds(2)
        return configuration
    }
}
