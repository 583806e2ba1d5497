/// One Server-Sent Event: `id:`, `event:` and `data:` lines up to a blank line.
public struct ServerSentEvent: Sendable, Hashable {
    public var id: String?
    /// The `event:` field; `message` when absent, as the SSE standard says.
    public var event: String
    /// The `data:` lines joined with newlines.
    public var data: String

    public init(id: String?, event: String, data: String) {
        self.id = id
        self.event = event
        self.data = data
    }
}

/// Splits a `text/event-stream` body, fed in arbitrary chunks, into events. Comment lines
/// (`: keep-alive`) and `retry:` are skipped; a chunk may end in the middle of a line.
public struct ServerSentEventParser: Sendable {
    private var pending: [UInt8] = []
    private var id: String?
    private var event: String?
    private var data: [String] = []

    public init() {}

    /// Feeds bytes; returns the events completed by them.
    public mutating func feed(_ bytes: [UInt8]) -> [ServerSentEvent] {
        pending += bytes
        var events: [ServerSentEvent] = []
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            var line = Array(pending[..<newline])
            pending.removeSubrange(...newline)
            if line.last == UInt8(ascii: "\r") { line.removeLast() }
            if line.isEmpty {
                if !data.isEmpty || event != nil {
                    events.append(
                        ServerSentEvent(id: id, event: event ?? "message", data: data.joined(separator: "\n"))
                    )
                }
                (id, event, data) = (nil, nil, [])
                continue
            }
            if line.first == UInt8(ascii: ":") { continue }
            let text = String(decoding: line, as: UTF8.self)
            let (field, value) = Self.split(text)
            switch field {
            case "id": id = value
            case "event": event = value
            case "data": data.append(value)
            default: break
            }
        }
        return events
    }

    private static func split(_ line: String) -> (String, String) {
        guard let colon = line.firstIndex(of: ":") else { return (line, "") }
        var value = line[line.index(after: colon)...]
        if value.first == " " { value = value.dropFirst() }
        return (String(line[..<colon]), String(value))
    }
}
