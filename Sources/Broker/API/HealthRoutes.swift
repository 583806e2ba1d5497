import Hummingbird
import PostgresNIO

extension BrokerAPI {
    struct Health: Codable, Sendable {
        var status: String
        var checks: [String: String] = [:]
    }

    /// `GET /healthz`: the process is up (no dependency is checked).
    func health() -> APIResponse {
        APIResponse(json: Health(status: "ok"))
    }

    /// `GET /readyz`: PostgreSQL and Redis both answer; 503 naming the one that does not.
    func readiness() async -> APIResponse {
        async let postgres: String = {
            do {
                try await database.connection { connection in
                    try await Maintenance.ping(on: connection, logger: logger)
                }
                return "ok"
            } catch let error as APIError {
                return error.details["cause"] ?? error.message
            } catch {
                return "\(error)"
            }
        }()
        async let redis: String = {
            do {
                let reply = try await self.redis.command(["PING"])
                return reply == .status("PONG") ? "ok" : "unexpected reply \(reply)"
            } catch {
                return "\(error)"
            }
        }()
        let checks = await ["postgres": postgres, "redis": redis]
        let ready = checks.values.allSatisfy { $0 == "ok" }
        return APIResponse(
            status: ready ? .ok : .serviceUnavailable,
            json: Health(status: ready ? "ready" : "unavailable", checks: checks)
        )
    }

    /// `GET /metrics`: Prometheus text exposition.
    func metricsExposition() -> APIResponse {
        var response = APIResponse(status: .ok, body: metrics.exposition())
        response.contentType = "text/plain; version=0.0.4; charset=utf-8"
        return response
    }
}
