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

    /// The keys of `event` with its `at` set (the stream adds it; writers leave it nil).
    static func keys<Event: Encodable>(
        stamped event: Event,
        _ at: WritableKeyPath<Event, Date?>
    ) throws -> Set<String> {
        var event = event
        event[keyPath: at] = date
        return try keys(event)
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

    static let current = CurrentVersion(
        versionID: "v",
        kind: "build",
        parentVersionID: "v0",
        deploymentID: "d",
        since: date,
        via: .build,
        actor: "a",
        reason: "r"
    )

    static let historyEntry = HistoryEntry(
        id: 1,
        at: date,
        kind: .rollbackCompleted,
        actor: "a",
        caller: "k",
        reason: "r",
        fromVersionID: "v1",
        toVersionID: "r1",
        targetVersionID: "v0",
        jobID: "j",
        outcome: "succeeded",
        durationMilliseconds: 5,
        commitID: "c",
        tag: "t",
        errorCode: "e",
        keyID: "k1"
    )

    static let auditRecord = AuditRecord(
        id: 1,
        at: date,
        caller: "k",
        actor: "a",
        action: "rollback",
        projectID: "p",
        outcome: "accepted",
        statusCode: 200,
        reason: "r",
        details: ["k": "v"],
        requestID: "q",
        keyID: "k1"
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
                        reason: "r",
                        only: ["src/**"]
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
                        updatedAt: date,
                        current: current,
                        frozen: FreezeView(at: date, by: "a", reason: "r"),
                        freezeAfterRollback: true
                    )
                )
            ),
            ("Version", try keys(version)),
            ("CurrentVersion", try keys(current)),
            ("HistoryEntry", try keys(historyEntry)),
            ("HistoryPage", try keys(HistoryPage(projectID: "p", entries: [historyEntry], nextCursor: "1"))),
            ("AuditRecord", try keys(auditRecord)),
            ("AuditPage", try keys(AuditPage(entries: [auditRecord], nextCursor: "1"))),
            ("Freeze", try keys(FreezeView(at: date, by: "a", reason: "r"))),
            ("ProjectList", try keys(ProjectList(projects: [], nextCursor: "p"))),
            ("FreezeRequest", try keys(FreezeRequest(userID: "u", reason: "r"))),
            (
                "RollbackPreviewRequest",
                try keys(
                    RollbackPreviewRequest(
                        userID: "u",
                        projectID: "p",
                        targetVersionID: "v",
                        limit: 1,
                        only: ["a"]
                    )
                )
            ),
            (
                "RollbackPreview",
                try keys(
                    RollbackPreview(
                        projectID: "p",
                        targetVersionID: "v",
                        currentVersionID: "c",
                        counts: .init(added: 1, changed: 0, removed: 0, unchanged: 0),
                        added: ["a"],
                        changed: [],
                        removed: [],
                        truncated: false,
                        limit: 100,
                        bytesToWrite: 1,
                        bytesToDownload: 1,
                        artifactCached: false
                    )
                )
            ),
            ("RollbackCancelRequest", try keys(RollbackCancelRequest(userID: "u", reason: "r"))),
            (
                "RollbackCancellation",
                try keys(
                    RollbackCancellation(
                        projectID: "p",
                        jobID: "j",
                        rollbackVersionID: "r",
                        state: .canceled,
                        status: .deployed,
                        restoredVersionID: "v",
                        restoredPreviewURL: "https://p"
                    )
                )
            ),
            ("UnfreezeRequest", try keys(UnfreezeRequest(userID: "u", reason: "r", discard: true))),
            (
                "UnfreezeResult",
                try keys(
                    UnfreezeResult(
                        projectID: "p",
                        releasedBuilds: [],
                        purgedBuilds: [],
                        heldForRollback: false
                    )
                )
            ),
            (
                "ProjectSettingsRequest",
                try keys(ProjectSettingsRequest(userID: "u", freezeAfterRollback: true))
            ),
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
            (
                "CreateWebhookRequest",
                try keys(CreateWebhookRequest(url: "u", eventTypes: ["e"], projects: ["p"], secret: "s"))
            ),
            ("Webhook", try keys(webhook)),
            ("WebhookList", try keys(WebhookList(webhooks: [webhook]))),
            ("WebhookDelivery", try keys(webhookDelivery)),
            (
                "WebhookDeliveryPage",
                try keys(WebhookDeliveryPage(webhookID: "w", deliveries: [webhookDelivery], nextCursor: "1"))
            ),
        ]
    }

    static let webhook = WebhookView(
        webhookID: "w",
        url: "u",
        eventTypes: ["e"],
        projects: ["p"],
        enabled: true,
        createdAt: date,
        createdBy: "a",
        failingSince: date,
        disabledAt: date,
        disabledReason: "r",
        pendingDeliveries: 1,
        secret: "s"
    )

    static let webhookDelivery = WebhookDeliveryView(
        deliveryID: 1,
        eventID: 2,
        eventType: "rollbackCompleted",
        projectID: "p",
        state: "pending",
        attempts: 1,
        lastStatus: 500,
        lastError: "e",
        lastAttemptAt: date,
        nextAttemptAt: date,
        deliveredAt: date,
        createdAt: date
    )

    @Test("each request and answer type encodes exactly its schema's properties")
    func requestAndAnswerKeys() throws {
        let pairs = try Self.requestsAndAnswers()
        #expect(pairs.count == 31)
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
                stamped: RollbackStartedEvent(
                    projectID: "p",
                    rollbackVersionID: "r",
                    targetVersionID: "t",
                    jobID: "j",
                    epoch: 1,
                    previewURL: "https://p",
                    skipWorkingDirectory: false
                ),
                \.at
            ),
            try Self.keys(
                stamped: RollbackProgressEvent(
                    projectID: "p",
                    jobID: "j",
                    rollbackVersionID: "r",
                    percent: 1,
                    phase: "downloading",
                    bytesDone: 1,
                    bytesTotal: 2
                ),
                \.at
            ),
            try Self.keys(
                stamped: RollbackCompletedEvent(
                    projectID: "p",
                    jobID: "j",
                    rollbackVersionID: "r",
                    epoch: 1,
                    commitID: "c",
                    tag: "t",
                    durationMilliseconds: 1,
                    releasedBuilds: 0
                ),
                \.at
            ),
            try Self.keys(
                stamped: RollbackFailedEvent(
                    projectID: "p",
                    jobID: "j",
                    rollbackVersionID: "r",
                    epoch: 1,
                    errorCode: "e",
                    errorMessage: "m",
                    restoredVersionID: "v",
                    restoredPreviewURL: "https://p",
                    purgedBuilds: 0
                ),
                \.at
            ),
            try Self.keys(
                stamped: RollbackCanceledEvent(
                    projectID: "p",
                    jobID: "j",
                    rollbackVersionID: "r",
                    epoch: 1,
                    canceledBy: "u",
                    reason: "r",
                    restoredVersionID: "v",
                    restoredPreviewURL: "https://p",
                    releasedBuilds: 0
                ),
                \.at
            ),
            try Self.keys(
                stamped: HeldBuildEvent(type: .buildPurged, projectID: "p", buildID: "b", reason: "r"),
                \.at
            ),
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
