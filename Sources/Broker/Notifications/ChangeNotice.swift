import Foundation

/// One `NOTIFY` from the triggers of migration 8, decoded. Pure: no I/O.
enum ChangeNotice: Sendable, Equatable {
    /// An event was committed. `event.payload` is empty when it was too large to travel in the
    /// notification: the reader fetches it from `events`.
    case event(StoredEvent, complete: Bool)
    /// A job of `host` became queued; it is due in `dueIn`.
    case jobQueued(host: String, dueIn: Duration)
    /// A cancel was requested for the running job `jobID` of `host`.
    case cancelRequested(host: String, jobID: UUID)
    /// A webhook delivery was queued (migration 10).
    case webhookQueued

    /// The channel the triggers notify for the tables in `schema`.
    static func channel(schema: String) -> String { "rollback.\(schema)" }

    private struct Wire: Decodable {
        var kind: String
        var id: Int64?
        var project: String?
        var type: String?
        var payload: String?
        var host: String?
        var job: String?
        var dueInMilliseconds: Int64?
    }

    /// Decodes a notification payload; nil for anything this version does not know (a newer
    /// broker's kinds are ignored, not fatal).
    init?(payload: String) {
        guard let wire = try? JSONDecoder().decode(Wire.self, from: Data(payload.utf8)) else { return nil }
        switch wire.kind {
        case "event":
            guard let id = wire.id, let project = wire.project, let type = wire.type else { return nil }
            self = .event(
                StoredEvent(id: id, projectID: project, type: type, payload: wire.payload ?? ""),
                complete: wire.payload != nil
            )
        case "job":
            guard let host = wire.host else { return nil }
            self = .jobQueued(host: host, dueIn: .milliseconds(max(0, wire.dueInMilliseconds ?? 0)))
        case "webhook":
            self = .webhookQueued
        case "cancel":
            guard let host = wire.host, let job = wire.job.flatMap(UUID.init(uuidString:)) else { return nil }
            self = .cancelRequested(host: host, jobID: job)
        default:
            return nil
        }
    }
}
