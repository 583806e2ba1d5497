import RollbackBroker
import RollbackClient
import RollbackRuntime
import Testing

/// The dispatcher's and the event stream's pure parts, without services.
@Suite("Dispatcher configuration and event parsing")
struct DispatchLogicTests {
    @Test("agents: host=socket and host=agentID@socket; anything else names the field")
    func agentDirectory() throws {
        let directory = try AgentDirectory(parsing: "b1=/run/a.sock, b2=agent-b@/srv/b.sock")
        #expect(directory.hosts == ["b1", "b2"])
        #expect(directory.byHost["b1"] == AgentAddress(host: "b1", socketPath: "/run/a.sock", agentID: "b1"))
        #expect(directory.byHost["b2"]?.agentID == "agent-b")
        for bad in ["b1", "=/x.sock", "b1=relative.sock", "b1=id@"] {
            #expect(throws: ConfigurationError.self, "\(bad)") { try AgentDirectory(parsing: bad) }
        }
        var configuration = BrokerConfiguration()
        #expect(
            throws: ConfigurationError(
                field: "jobLeaseSeconds",
                message: "must be at least 3 (renewed every third)"
            )
        ) {
            try configuration.set("jobLeaseSeconds", to: "2")
        }
        #expect(throws: ConfigurationError.self) { try configuration.set("metricsPrefix", to: "9bad") }
    }

    @Test("retry backoff doubles per attempt and stops at the cap")
    func backoff() {
        var settings = DispatchSettings(owner: "t")
        settings.retryBackoff = .seconds(1)
        settings.maxBackoff = .seconds(30)
        #expect(
            (1...7).map { settings.backoff(afterAttempt: $0) }
                == [1, 2, 4, 8, 16, 30, 30].map { Duration.seconds($0) }
        )
    }

    @Test("SSE: events split across chunks, comments and retry skipped, multi-line data joined")
    func serverSentEvents() {
        var parser = ServerSentEventParser()
        var events = parser.feed(Array("retry: 1000\n\n: keep-alive\n\nid: 7\nevent: rollbackPro".utf8))
        #expect(events.isEmpty)
        events = parser.feed(Array("gress\ndata: {\"a\":\ndata: 1}\n\nid: 8\r\ndata: x\r\n\r\n".utf8))
        #expect(
            events == [
                ServerSentEvent(id: "7", event: "rollbackProgress", data: "{\"a\":\n1}"),
                ServerSentEvent(id: "8", event: "message", data: "x"),
            ]
        )
    }
}
