import Foundation
public import RollbackProtocol

/// One event of a project's stream (`GET /v1/projects/{id}/events`), decoded.
public struct BrokerEvent: Sendable, Hashable {
    /// The event's sequence number: resume after it with `after:`.
    public let id: Int64
    public let kind: Kind

    public enum Kind: Sendable, Hashable {
        case rollbackStarted(RollbackStartedEvent)
        case rollbackProgress(RollbackProgressEvent)
        case rollbackCompleted(RollbackCompletedEvent)
        case rollbackFailed(RollbackFailedEvent)
        case rollbackCanceled(RollbackCanceledEvent)
        case buildReleased(HeldBuildEvent)
        case buildPurged(HeldBuildEvent)
        /// A type this client does not know (from a newer broker), as received.
        case other(type: String, json: String)
    }

    public init(id: Int64, kind: Kind) {
        self.id = id
        self.kind = kind
    }

    /// Decodes a Server-Sent Event; nil when it has no numeric id.
    init?(_ event: ServerSentEvent) {
        guard let id = event.id.flatMap({ Int64($0) }) else { return nil }
        let data = Data(event.data.utf8)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        func decode<T: Decodable>(_ type: T.Type) -> T? { try? decoder.decode(type, from: data) }
        let kind: Kind? =
            switch RollbackEventType(rawValue: event.event) {
            case .rollbackStarted: decode(RollbackStartedEvent.self).map(Kind.rollbackStarted)
            case .rollbackProgress: decode(RollbackProgressEvent.self).map(Kind.rollbackProgress)
            case .rollbackCompleted: decode(RollbackCompletedEvent.self).map(Kind.rollbackCompleted)
            case .rollbackFailed: decode(RollbackFailedEvent.self).map(Kind.rollbackFailed)
            case .rollbackCanceled: decode(RollbackCanceledEvent.self).map(Kind.rollbackCanceled)
            case .buildReleased: decode(HeldBuildEvent.self).map(Kind.buildReleased)
            case .buildPurged: decode(HeldBuildEvent.self).map(Kind.buildPurged)
            case nil: nil
            }
        self.init(id: id, kind: kind ?? .other(type: event.event, json: event.data))
    }

    /// The rollback version an event is about, when it is about one.
    public var rollbackVersionID: String? {
        switch kind {
        case .rollbackStarted(let event): event.rollbackVersionID
        case .rollbackProgress(let event): event.rollbackVersionID
        case .rollbackCompleted(let event): event.rollbackVersionID
        case .rollbackFailed(let event): event.rollbackVersionID
        case .rollbackCanceled(let event): event.rollbackVersionID
        case .buildReleased, .buildPurged, .other: nil
        }
    }
}

/// How a rollback ended (``BrokerClient/waitForRollback(_:progress:)``).
public enum RollbackOutcome: Sendable, Hashable {
    case completed(RollbackCompletedEvent)
    case failed(RollbackFailedEvent)
    /// Canceled before the agent's swap (`POST /v1/projects/{id}/rollback/cancel`).
    case canceled(RollbackCanceledEvent)
    /// `skipWorkingDirectory`: nothing ran after the answer.
    case previewOnly
}

extension BrokerClient {
    /// The project's events, oldest first (or after `after`), then live, for as long as the
    /// sequence is consumed. A dropped connection, or one silent for ``streamIdleLimit``, is
    /// reopened with `Last-Event-ID`, so nothing is missed and nothing repeats; after
    /// `maxReconnects` failures in a row without an event the sequence ends with the last error.
    public func events(
        projectID: String,
        after: Int64? = nil,
        maxReconnects: Int = 20
    ) -> AsyncThrowingStream<BrokerEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: BrokerEvent.self)
        let client = self
        let task = Task {
            var last = after
            var failures = 0
            while !Task.isCancelled {
                do {
                    try await client.readEvents(projectID: projectID, after: last) { event in
                        last = event.id
                        failures = 0
                        continuation.yield(event)
                    }
                    failures = 0  // the broker ended the stream (shutdown): reconnect
                } catch let error as BrokerError where !error.isRetryable {
                    continuation.finish(throwing: error)
                    return
                } catch {
                    failures += 1
                    if failures > maxReconnects || Task.isCancelled {
                        continuation.finish(throwing: error)
                        return
                    }
                }
                try? await Task.sleep(for: client.retryDelay * min(failures + 1, 10))
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// Follows the project's events until `accepted`'s rollback ends, handing each progress
    /// event to `progress`.
    public func waitForRollback(
        _ accepted: RollbackAccepted,
        progress: @Sendable (RollbackProgressEvent) -> Void = { _ in }
    ) async throws -> RollbackOutcome {
        guard accepted.jobID != nil else { return .previewOnly }
        for try await event in events(projectID: accepted.projectID)
        where event.rollbackVersionID == accepted.rollbackVersionID {
            switch event.kind {
            case .rollbackProgress(let update): progress(update)
            case .rollbackCompleted(let completed): return .completed(completed)
            case .rollbackFailed(let failed): return .failed(failed)
            case .rollbackCanceled(let canceled): return .canceled(canceled)
            default: continue
            }
        }
        throw BrokerError(
            status: nil,
            code: "unreachable",
            message: "the event stream ended before the rollback did"
        )
    }

    /// The project's stored events (after `after`), without waiting for new ones.
    public func storedEvents(projectID: String, after: Int64? = nil) async throws -> [BrokerEvent] {
        var events: [BrokerEvent] = []
        try await readEvents(projectID: projectID, after: after, follow: false) { events.append($0) }
        return events
    }

    /// One connection's worth of events.
    private func readEvents(
        projectID: String,
        after: Int64?,
        follow: Bool = true,
        _ deliver: (BrokerEvent) -> Void
    ) async throws {
        let target =
            "/v1/projects/\(try PathSegment.projectID(projectID))/events" + (follow ? "" : "?follow=false")
        var headers = signer.headers(method: "GET", target: target, body: [])
        if let after { headers.append(("Last-Event-ID", String(after))) }
        let requestHeaders = headers
        do {
            try await readStream(target: target, headers: requestHeaders, deliver)
        } catch let error as BrokerError {
            throw error
        } catch {
            // Every failure of this client is a BrokerError, so callers handle one type.
            throw BrokerError.unreachable(error, url: baseURL)
        }
    }

    private func readStream(
        target: String,
        headers requestHeaders: [(name: String, value: String)],
        _ deliver: (BrokerEvent) -> Void
    ) async throws {
        var parser = ServerSentEventParser()
        try await HTTP1Connection.withConnection(
            host: host,
            port: port,
            tls: tls,
            readIdleLimit: streamIdleLimit
        ) { connection in
            // A refusal (401, 404, 503) arrives as a whole error body; read it to the end.
            var refusal: HTTP1Response?
            try await connection.stream(method: "GET", target: target, headers: requestHeaders) { part in
                switch part {
                case .head(let response):
                    if response.status != 200 { refusal = response }
                case .body(let bytes):
                    if refusal != nil {
                        refusal!.body += bytes
                    } else {
                        for event in parser.feed(bytes) { BrokerEvent(event).map(deliver) }
                    }
                case .end:
                    return false
                }
                return true
            }
            if let refusal { throw BrokerClient.error(from: refusal) }
        }
    }
}
