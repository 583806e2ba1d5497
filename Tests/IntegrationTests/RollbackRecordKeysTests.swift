import Foundation
import RollbackProtocol
import Testing

@testable import RollbackBroker

/// `rollback_record`'s argument is spelled twice: `RollbackRecord.Arguments` in Swift and
/// `r->>'…'` in the PL/pgSQL as the latest migration defines it. A key on one side only is a silent NULL.
@Suite("rollback_record: Swift and PL/pgSQL agree on every key")
struct RollbackRecordKeysTests {
    @Test("every key Swift sends is read by the function, and every key it reads is sent")
    func keysAgree() throws {
        let sql = Migrations.currentRollbackRecord
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
            lockID: "1",
            versionID: "v",
            projectID: "p",
            targetVersionID: "t",
            versionStatus: "syncing",
            artifactURL: "https://a",
            artifactSHA256: "s",
            artifactSize: 1,
            previewURL: "https://p",
            deploymentID: "d",
            only: ["src/**"],
            newStatus: "rollingBack",
            expectedEpoch: 1,
            settled: ["deployed"],
            jobID: "j",
            host: "h",
            previousVersionID: "pv",
            previousPreviewURL: "pp",
            previousStatus: "deployed",
            userID: "u",
            traceParent: "tp",
            event: RollbackStartedEvent(
                projectID: "p",
                rollbackVersionID: "v",
                targetVersionID: "t",
                jobID: "j",
                epoch: 1,
                previewURL: "https://p",
                skipWorkingDirectory: false
            ),
            auditAction: "rollback",
            reason: "r",
            auditDetails: [:],
            requestID: "rq",
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
