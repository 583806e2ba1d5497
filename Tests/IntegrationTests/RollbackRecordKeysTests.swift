import Foundation
import RollbackProtocol
import Testing

@testable import RollbackBroker

/// `rollback_record`'s argument is spelled twice: `RollbackRecord.Arguments` in Swift and
/// `r->>'…'` in the PL/pgSQL of migration 2. A key on one side only is a silent NULL.
@Suite("rollback_record: Swift and PL/pgSQL agree on every key")
struct RollbackRecordKeysTests {
    @Test("every key Swift sends is read by the function, and every key it reads is sent")
    func keysAgree() throws {
        let sql = Migrations.rollbackRecordFunction.statements.joined(separator: "\n")
        let pattern = try NSRegularExpression(pattern: #"r->>?'([A-Za-z0-9]+)'"#)
        let read = Set(
            pattern.matches(in: sql, range: NSRange(sql.startIndex..., in: sql)).map {
                String(sql[Range($0.range(at: 1), in: sql)!])
            }
        )
        // Every optional set, so that the encoder writes every key.
        let arguments = RollbackRecord.Arguments(
            caller: "c",
            key: "k",
            fingerprint: "f",
            lockId: "1",
            versionId: "v",
            projectId: "p",
            targetVersionId: "t",
            versionStatus: "syncing",
            artifactUrl: "https://a",
            artifactSha256: "s",
            artifactSize: 1,
            previewUrl: "https://p",
            deploymentId: "d",
            newStatus: "rollingBack",
            expectedEpoch: 1,
            settled: ["deployed"],
            jobId: "j",
            host: "h",
            previousVersionId: "pv",
            previousPreviewUrl: "pp",
            previousStatus: "deployed",
            userId: "u",
            traceParent: "tp",
            event: RollbackStartedEvent(
                projectId: "p",
                rollbackVersionId: "v",
                targetVersionId: "t",
                jobId: "j",
                epoch: 1,
                previewUrl: "https://p",
                skipWorkingDirectory: false
            ),
            auditAction: "rollback",
            reason: "r",
            auditDetails: [:],
            requestId: "rq",
            response: "{}",
            ttlSeconds: 86_400
        )
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(BrokerJSON.encode(arguments))) as? [String: Any]
        )
        let sent = Set(object.keys)
        #expect(sent.subtracting(read).isEmpty, "sent but never read: \(sent.subtracting(read).sorted())")
        #expect(read.subtracting(sent).isEmpty, "read but never sent: \(read.subtracting(sent).sorted())")
        #expect(read.count >= 29)
    }
}
