import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
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
        var fromLatest = false
        // For EventSource, which cannot send Last-Event-ID on its first request (it does on
        // reconnects, and the header wins): an event id, or `latest` for only new events. Checked
        // even when the header wins, so a bad value is never silently ignored.
        if let value = request.uri.queryParameters.get("after") {
            if value == "latest" {
                fromLatest = true
            } else {
                guard let id = Int64(value), id >= 0 else {
                    throw APIError.invalidField(
                        "after",
                        "must be an event id (a non-negative integer) or latest"
                    )
                }
                after = id
            }
        }
        if let header = request.headers[HTTPField.Name("Last-Event-ID")!] {
            guard let value = Int64(header.trimmingCharacters(in: .whitespaces)), value >= 0 else {
                throw APIError.invalidField("Last-Event-ID", "must be an event id (a non-negative integer)")
            }
            after = value
            fromLatest = false
        }
        var follow = true
        if let value = request.uri.queryParameters.get("follow") {
            guard let flag = ["true": true, "false": false][value] else {
                throw APIError.invalidField("follow", "must be true or false")
            }
            follow = flag
        }
        let logger = self.logger
        try await projects.requireExists(projectID)
        if fromLatest {
            after = try await EventStore.latestID(of: projectID, database: database, logger: logger)
        }
        let feed = EventFeed(
            database: database,
            hub: changes,
            projectID: projectID,
            safetyNetPoll: settings.safetyNetPoll,
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
