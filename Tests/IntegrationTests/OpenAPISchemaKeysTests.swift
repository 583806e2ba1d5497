import Foundation
import RollbackProtocol
import Testing

/// Swift spells acronyms in capitals (`projectID`, `previewURL`); the wire keeps the spelling of
/// `spec/openapi.yaml` (`projectId`, `previewUrl`) through `CodingKeys`. These tests encode every
/// HTTP API type with every field set and compare its keys with the schema's properties, so a
/// renamed property or a field added on one side only fails here.
@Suite("spec/openapi.yaml: schema keys")
struct OpenAPISchemaKeysTests {
    /// The property names of `components.schemas.<name>`, read line by line: schemas are indented
    /// four spaces, `properties:` six, each property eight.
    static func schemaProperties(_ name: String) throws -> Set<String> {
        let text = try String(contentsOf: OpenAPISpecTests.specURL, encoding: .utf8)
        var properties = Set<String>()
        var inSchema = false
        var inProperties = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("    "), !line.hasPrefix("     ") {
                inSchema = line == "    \(name):"
                inProperties = false
                continue
            }
            guard inSchema else { continue }
            if line.hasPrefix("      "), !line.hasPrefix("       ") {
                inProperties = line == "      properties:"
            } else if inProperties, line.hasPrefix("        "), !line.hasPrefix("         "),
                let colon = line.firstIndex(of: ":")
            {
                properties.insert(String(line[line.index(line.startIndex, offsetBy: 8)..<colon]))
            }
        }
        return properties
    }

    static func keys(_ value: some Encodable) throws -> Set<String> {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let object = try JSONSerialization.jsonObject(with: encoder.encode(value)) as? [String: Any]
        return Set(try #require(object).keys)
    }

    static let date = Date(timeIntervalSince1970: 1_800_000_000)
    static let sha = String(repeating: "a", count: 64)

    static let version = VersionView(
        versionID: "v1",
        projectID: "p1",
        parentVersionID: "v0",
        kind: "build",
        status: .ready,
        artifactURL: "https://a/b.zip",
        artifactSHA256: sha,
        artifactSize: 1,
        previewURL: "https://p",
        deploymentID: "d",
        published: true,
        publishedAt: date,
        createdAt: date
    )

    /// (schema, the keys of a fully populated value).
    static func requestsAndAnswers() throws -> [(String, Set<String>)] {
        [
            (
                "RollbackRequest",
                try keys(
                    RollbackRequest(
                        userID: "u",
                        projectID: "p",
                        targetVersionID: "v",
                        skipWorkingDirectory: true,
                        reason: "r"
                    )
                )
            ),
            (
                "RollbackAccepted",
                try keys(
                    RollbackAccepted(
                        rollbackVersionID: "r",
                        targetVersionID: "v",
                        projectID: "p",
                        previewURL: "https://p",
                        status: .rollingBack,
                        jobID: "j",
                        epoch: 1,
                        publishURL: "/x"
                    )
                )
            ),
            ("PublishRequest", try keys(PublishRequest(userID: "u"))),
            (
                "RegisterProjectRequest",
                try keys(RegisterProjectRequest(projectID: "p", userID: "u", host: "h"))
            ),
            (
                "RegisterVersionRequest",
                try keys(
                    RegisterVersionRequest(
                        versionID: "v",
                        artifactURL: "https://a",
                        artifactSHA256: sha,
                        artifactSize: 1,
                        previewURL: "https://p",
                        deploymentID: "d",
                        makeCurrent: true
                    )
                )
            ),
            ("BuildRequest", try keys(BuildRequest(projectID: "p", buildID: "b", payload: .object([:])))),
            (
                "BuildAdmission",
                try keys(BuildAdmission(buildID: "b", projectID: "p", disposition: .held, message: "m"))
            ),
            (
                "Project",
                try keys(
                    ProjectView(
                        projectID: "p",
                        userID: "u",
                        host: "h",
                        status: .deployed,
                        currentVersionID: "v",
                        previewURL: "https://p",
                        epoch: 1,
                        activeJobID: "j",
                        updatedAt: date
                    )
                )
            ),
            ("Version", try keys(version)),
            ("VersionList", try keys(VersionList(projectID: "p", versions: [version]))),
            (
                "Job",
                try keys(
                    JobView(
                        jobID: "j",
                        projectID: "p",
                        versionID: "v",
                        targetVersionID: "t",
                        state: .running,
                        epoch: 1,
                        attempts: 1,
                        progressPercent: 5,
                        phase: "downloading",
                        errorCode: "e",
                        errorMessage: "m",
                        createdAt: date,
                        startedAt: date,
                        finishedAt: date
                    )
                )
            ),
        ]
    }

    @Test("each request and answer type encodes exactly its schema's properties")
    func requestAndAnswerKeys() throws {
        let pairs = try Self.requestsAndAnswers()
        #expect(pairs.count == 11)
        for (schema, encoded) in pairs {
            let specified = try Self.schemaProperties(schema)
            #expect(!specified.isEmpty, "schema \(schema) has properties in spec/openapi.yaml")
            #expect(
                encoded == specified,
                "\(schema): Swift \(encoded.sorted()) vs spec \(specified.sorted())"
            )
        }
    }

    @Test("every event's keys are properties of the RollbackEvent schema")
    func eventKeys() throws {
        let events: [Set<String>] = [
            try Self.keys(
                RollbackStartedEvent(
                    projectID: "p",
                    rollbackVersionID: "r",
                    targetVersionID: "t",
                    jobID: "j",
                    epoch: 1,
                    previewURL: "https://p",
                    skipWorkingDirectory: false
                )
            ),
            try Self.keys(
                RollbackProgressEvent(
                    projectID: "p",
                    jobID: "j",
                    rollbackVersionID: "r",
                    percent: 1,
                    phase: "downloading",
                    bytesDone: 1,
                    bytesTotal: 2
                )
            ),
            try Self.keys(
                RollbackCompletedEvent(
                    projectID: "p",
                    jobID: "j",
                    rollbackVersionID: "r",
                    epoch: 1,
                    commitID: "c",
                    tag: "t",
                    durationMilliseconds: 1,
                    releasedBuilds: 0
                )
            ),
            try Self.keys(
                RollbackFailedEvent(
                    projectID: "p",
                    jobID: "j",
                    rollbackVersionID: "r",
                    epoch: 1,
                    errorCode: "e",
                    errorMessage: "m",
                    restoredVersionID: "v",
                    restoredPreviewURL: "https://p",
                    purgedBuilds: 0
                )
            ),
            try Self.keys(HeldBuildEvent(type: .buildPurged, projectID: "p", buildID: "b", reason: "r")),
        ]
        let specified = try Self.schemaProperties("RollbackEvent")
        #expect(specified.contains("projectId"))
        for encoded in events {
            #expect(encoded.contains("type") && encoded.contains("projectId"))
            #expect(
                encoded.isSubset(of: specified),
                "not in the RollbackEvent schema: \(encoded.subtracting(specified))"
            )
        }
        #expect(
            events.reduce(into: Set<String>()) { $0.formUnion($1) } == specified,
            "every schema property is used"
        )
    }
}
