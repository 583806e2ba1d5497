import Dispatch
import Foundation
import Testing

@testable import RollbackBroker

/// Found by the soak: after PostgreSQL restarted, a pooled query never returned and ignored
/// cancellation; the deadline waited for it (a task group waits for its children), so a
/// dispatcher's claim loop hung for good. The deadline now answers whatever the body does.
@Suite("Database deadline")
struct DatabaseDeadlineTests {
    @Test("a body that ignores cancellation still gets database_unavailable at the deadline")
    func deadlineHoldsAgainstABodyThatIgnoresCancellation() async throws {
        try await BrokerHarness.with { broker in
            let database = Database(
                client: broker.server.database.client,
                timeout: .milliseconds(200),
                logger: BrokerHarness.logger
            )
            let clock = ContinuousClock()
            let started = clock.now
            await #expect(throws: APIError.self) {
                try await database.connection { _ in
                    // Deaf to cancellation: resumes after 3 s whatever happens.
                    await withCheckedContinuation { continuation in
                        DispatchQueue.global().asyncAfter(deadline: .now() + 3) { continuation.resume() }
                    }
                    return 1
                }
            }
            #expect(clock.now - started < .seconds(2), "waited \(clock.now - started) for a 200 ms deadline")
        }
    }
}
