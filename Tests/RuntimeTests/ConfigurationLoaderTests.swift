import Foundation
import RollbackRuntime
import Testing

/// A small configuration to exercise the loader without either daemon.
private struct Sample: Configurable, Equatable {
    static let environmentPrefix = "ROLLBACK_SAMPLE"
    static let fieldNames = ["port", "name", "allowedPeerUIDs", "idempotencyTTLSeconds", "agentID"]
    var port = 80
    var name = "x"
    var allowedPeerUIDs: [Int] = []
    var idempotencyTTLSeconds = 1
    var agentID = "a"

    mutating func set(_ field: String, to text: String) throws(ConfigurationError) {
        switch field {
        case "port":
            guard let value = Int(text), value > 0 else {
                throw ConfigurationError(field: field, message: "must be a positive integer")
            }
            port = value
        case "name": name = text
        case "allowedPeerUIDs": allowedPeerUIDs = text.split(separator: ",").compactMap { Int($0) }
        case "idempotencyTTLSeconds", "agentID": break
        default: throw ConfigurationError(field: field, message: "unknown field")
        }
    }

    func validate() throws(ConfigurationError) {
        guard name != "bad" else { throw ConfigurationError(field: "name", message: "must not be bad") }
    }
}

@Suite("One configuration loader for every program")
struct ConfigurationLoaderTests {
    @Test("environment names: one rule for words, acronyms and plural acronyms")
    func environmentNames() {
        #expect(Sample.environmentName(of: "port") == "ROLLBACK_SAMPLE_PORT")
        #expect(Sample.environmentName(of: "allowedPeerUIDs") == "ROLLBACK_SAMPLE_ALLOWED_PEER_UIDS")
        #expect(
            Sample.environmentName(of: "idempotencyTTLSeconds") == "ROLLBACK_SAMPLE_IDEMPOTENCY_TTL_SECONDS"
        )
        #expect(Sample.environmentName(of: "agentID") == "ROLLBACK_SAMPLE_AGENT_ID")
        #expect(Sample.environmentName(of: "postgresURL") == "ROLLBACK_SAMPLE_POSTGRES_URL")
        #expect(Sample.environmentName(of: "maxFrameBytes") == "ROLLBACK_SAMPLE_MAX_FRAME_BYTES")
    }

    @Test("later sources win: file, environment, flag, --set")
    func precedence() throws {
        let file = try writeFile(#"{"port": 1, "name": "file", "allowedPeerUIDs": [5, 6]}"#)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let loaded = try ConfigurationLoader<Sample>.load(
            file: file,
            environment: ["ROLLBACK_SAMPLE_PORT": "2", "ROLLBACK_SAMPLE_NAME": "env"],
            flags: [("port", "--port", "3"), ("name", "--name", nil)],
            assignments: ["port=4"]
        )
        #expect(loaded.configuration.port == 4)
        #expect(loaded.configuration.name == "env")
        #expect(loaded.configuration.allowedPeerUIDs == [5, 6])
        #expect(loaded.sources["port"] == .assignment)
        #expect(loaded.sources["name"] == .environment(variable: "ROLLBACK_SAMPLE_NAME"))
        #expect(loaded.sources["allowedPeerUIDs"] == .file(path: file))
    }

    @Test("an error names the field and where its value came from")
    func errorsNameTheSource() throws {
        let file = try writeFile(#"{"prot": 1}"#)
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(
            throws: ConfigurationError(field: "prot", message: "unknown field", source: .file(path: file))
        ) {
            try ConfigurationLoader<Sample>.load(file: file, environment: [:])
        }
        let fromEnvironment = ConfigurationError(
            field: "port",
            message: "must be a positive integer",
            source: .environment(variable: "ROLLBACK_SAMPLE_PORT")
        )
        #expect(throws: fromEnvironment) {
            try ConfigurationLoader<Sample>.load(file: nil, environment: ["ROLLBACK_SAMPLE_PORT": "-1"])
        }
        #expect(
            fromEnvironment.description
                == "configuration: port (from ROLLBACK_SAMPLE_PORT): must be a positive integer"
        )
        #expect(
            throws: ConfigurationError(
                field: "port",
                message: "must be a positive integer",
                source: .flag(name: "--port")
            )
        ) {
            try ConfigurationLoader<Sample>.load(
                file: nil,
                environment: [:],
                flags: [("port", "--port", "x")]
            )
        }
        // A rule only the whole configuration can check still names the value's source.
        #expect(throws: ConfigurationError(field: "name", message: "must not be bad", source: .assignment)) {
            try ConfigurationLoader<Sample>.load(file: nil, environment: [:], assignments: ["name=bad"])
        }
        #expect(throws: ConfigurationError(field: "colour", message: "unknown field", source: .assignment)) {
            try ConfigurationLoader<Sample>.load(file: nil, environment: [:], assignments: ["colour=blue"])
        }
        #expect(
            throws: ConfigurationError(
                field: "nonsense",
                message: "--set takes field=value",
                source: .assignment
            )
        ) {
            try ConfigurationLoader<Sample>.load(file: nil, environment: [:], assignments: ["nonsense"])
        }
    }

    private func writeFile(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "loader-\(UUID().uuidString).json"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }
}
