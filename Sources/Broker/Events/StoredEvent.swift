/// A row of `events`: its id is the SSE event id and the resume point of `Last-Event-ID`.
struct StoredEvent: Sendable, Hashable {
    var id: Int64
    var projectID: String
    var type: String
    /// The JSON payload, as stored.
    var payload: String
}
