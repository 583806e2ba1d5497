import Foundation
import RollbackAgent
import RollbackRuntime
import Testing

@Suite("Agent configuration")
struct ConfigurationTests {
    @Test("environment names follow the field names")
    func environmentNames() {
        #expect(AgentConfiguration.environmentName(of: "socketPath") == "ROLLBACK_AGENT_SOCKET_PATH")
        #expect(AgentConfiguration.environmentName(of: "agentID") == "ROLLBACK_AGENT_AGENT_ID")
        #expect(
            AgentConfiguration.environmentName(of: "allowedPeerUIDs") == "ROLLBACK_AGENT_ALLOWED_PEER_UIDS"
        )
        #expect(
            AgentConfiguration.environmentName(of: "maxArtifactBytes") == "ROLLBACK_AGENT_MAX_ARTIFACT_BYTES"
        )
    }

    @Test("file, then environment, then explicit settings; unknown fields and bad values name the field")
    func precedenceAndErrors() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "rbk-config-\(UUID().uuidString)"
        ).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = "\(directory)/agent.json"
        try Data(
            #"{"workRoot":"\#(directory)","maxEntries":10,"allowedPeerUIDs":[1000,1001],"socketMode":"0640"}"#
                .utf8
        )
        .write(to: URL(fileURLWithPath: file))
        var loader = ConfigurationLoader<AgentConfiguration>()
        try loader.apply(file: file)
        #expect(loader.configuration.maxEntries == 10)
        #expect(loader.configuration.allowedPeerUIDs == [1000, 1001])
        try loader.apply(environment: ["ROLLBACK_AGENT_MAX_ENTRIES": "20", "UNRELATED": "x"])
        #expect(loader.configuration.maxEntries == 20)
        try loader.apply(assignment: "maxEntries=30")
        #expect(loader.configuration.maxEntries == 30)
        try loader.validate()
        var configuration = loader.configuration

        #expect(
            throws: ConfigurationError(field: "maxEntries", message: "must be a positive integer, got \"-1\"")
        ) {
            try configuration.set("maxEntries", to: "-1")
        }
        try configuration.set("watchTreesFromFiles", to: "0")
        #expect(configuration.watchTreesFromFiles == 0)
        #expect(
            throws: ConfigurationError(
                field: "watchTreesFromFiles",
                message: "must be 0 (never watch) or more, got \"some\""
            )
        ) {
            try configuration.set("watchTreesFromFiles", to: "some")
        }
        #expect(throws: ConfigurationError(field: "colour", message: "unknown field")) {
            try configuration.set("colour", to: "blue")
        }
        try Data(#"{"workRoot":"/x","typo":1}"#.utf8).write(to: URL(fileURLWithPath: file))
        #expect(
            throws: ConfigurationError(field: "typo", message: "unknown field", source: .file(path: file))
        ) {
            try ConfigurationLoader<AgentConfiguration>.load(file: file, environment: [:])
        }

        var open = configuration
        open.socketMode = "0666"
        #expect((try? open.validate()) == nil)
        var missing = configuration
        missing.workRoot = "\(directory)/nope"
        #expect(
            throws: ConfigurationError(field: "workRoot", message: "\(directory)/nope is not a directory")
        ) { try missing.validate() }
    }
}
