import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle

extension BrokerAPI {
    /// `GET /v1/projects/{projectId}/events`: Server-Sent Events from the `events` table, oldest
    /// first, then new ones as they are written by any broker instance. `Last-Event-ID` resumes
    /// after that event; `?follow=false` ends the stream once it has caught up. Each event is `id:` (its sequence number), `event:` (its type) and
    /// `data:` (its JSON payload). A comment line keeps idle connections open.
    func events(_ request: Request, _ context: BasicRequestContext) async throws -> APIResponse {
        _ = try await authenticator.authenticate(request, context: context, action: "events.read")
        let projectID = try context.parameters.require("projectId")
        var after: Int64 = 0
        if let header = request.headers[HTTPField.Name("Last-Event-ID")!] {
            guard let value = Int64(header.trimmingCharacters(in: .whitespaces)), value >= 0 else {
                throw APIError.invalidField("Last-Event-ID", "must be an event id (a non-negative integer)")
            }
            after = value
        }
        var follow = true
        if let value = request.uri.queryParameters.get("follow") {
            guard let flag = ["true": true, "false": false][value] else {
                throw APIError.invalidField("follow", "must be true or false")
            }
            follow = flag
        }
        let logger = self.logger
        let exists = try await database.connection { connection in
            try await ProjectStore.find(projectID, on: connection, logger: logger) != nil
        }
        guard exists else {
            throw APIError(.notFound, "project_not_found", "project \(projectID) is not registered")
        }
        let feed = EventFeed(
            database: database,
            projectID: projectID,
            poll: settings.eventPollInterval,
            logger: logger
        )
        let start = after
        let shouldFollow = follow
        var response = APIResponse(status: .ok, body: [])
        response.contentType = "text/event-stream"
        response.headers = [(.cacheControl, "no-cache")]
        response.stream = ResponseBody { writer in
            try await feed.stream(after: start, follow: shouldFollow) { chunk in
                try await writer.write(ByteBuffer(bytes: chunk))
            }
            try await writer.finish(nil)
        }
        return response
    }
}

/// Reads one project's events after a given id, again and again, and writes them as SSE.
/// PostgreSQL is the source, so events from every broker instance arrive, in id order. (Within
/// one project, events are written in causal order by transactions that serialise on the
/// project's or the job's row, so ids become visible in order.)
struct EventFeed: Sendable {
    let database: Database
    let projectID: String
    let poll: Duration
    let logger: Logger
    var keepAlive: Duration = .seconds(15)

    /// Writes the events after `start`; with `follow`, then waits for new ones until cancelled or
    /// shut down, else returns once caught up.
    func stream(
        after start: Int64,
        follow: Bool,
        write: (ArraySlice<UInt8>) async throws -> Void
    ) async throws {
        var last = start
        var lastWrite = ContinuousClock.now
        try await write(ArraySlice("retry: 1000\n\n".utf8))
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            let batch = try await read(after: last)
            for event in batch {
                try await write(ArraySlice(Self.format(event).utf8))
                last = event.id
            }
            if batch.isEmpty {
                if !follow { return }
                if ContinuousClock.now - lastWrite > keepAlive {
                    try await write(ArraySlice(": keep-alive\n\n".utf8))
                    lastWrite = .now
                }
                try await Task.sleep(for: poll)
            } else {
                lastWrite = .now
            }
        }
    }

    static func format(_ event: StoredEvent) -> String {
        "id: \(event.id)\nevent: \(event.type)\ndata: \(event.payload)\n\n"
    }

    private func read(after id: Int64) async throws -> [StoredEvent] {
        let projectID = self.projectID
        let logger = self.logger
        return try await database.connection { connection in
            try await EventStore.after(id, project: projectID, on: connection, logger: logger)
        }
    }
}
