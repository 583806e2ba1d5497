/// Where a `/metrics` endpoint listens: a loopback TCP port (`127.0.0.1:9464`) or a Unix socket
/// (`unix:/run/rollback/agent-metrics.sock`). Empty text means off.
public enum MetricsListenAddress: Sendable, Hashable, CustomStringConvertible {
    case tcp(host: String, port: Int)
    case unix(path: String)

    /// The rule of a `metricsListen` field: nil for "off".
    public static func parse(
        _ text: String,
        field: String = "metricsListen"
    ) throws(ConfigurationError)
        -> MetricsListenAddress?
    {
        if text.isEmpty { return nil }
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            guard path.hasPrefix("/"), path.utf8.count < 100 else {
                throw ConfigurationError(
                    field: field,
                    message: "unix: must be followed by an absolute socket path shorter than 100 bytes"
                )
            }
            return .unix(path: path)
        }
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else {
            throw ConfigurationError(
                field: field,
                message: "must be host:port (127.0.0.1:9464) or unix:/path, got \"\(text)\""
            )
        }
        let host = String(text[..<colon])
        guard ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host) else {
            throw ConfigurationError(
                field: field,
                message:
                    "must listen on loopback (127.0.0.1, ::1): metrics are not for the network, got \"\(host)\""
            )
        }
        return .tcp(host: host == "[::1]" ? "::1" : host, port: port)
    }

    public var description: String {
        switch self {
        case .tcp(let host, let port): "\(host):\(port)"
        case .unix(let path): "unix:\(path)"
        }
    }
}
