import HTTPTypes
import Hummingbird
import NIOCore

/// A finished answer: status and JSON body bytes. Stored as is for idempotent replays, so a
/// replay is byte for byte the first answer.
struct APIResponse: Sendable {
    var status: HTTPResponse.Status
    var body: [UInt8]
    var headers: [(HTTPField.Name, String)] = []
    var contentType = "application/json"
    /// A body written as it is produced (Server-Sent Events); `body` is then unused.
    var stream: ResponseBody?

    init(status: HTTPResponse.Status, body: [UInt8], headers: [(HTTPField.Name, String)] = []) {
        self.status = status
        self.body = body
        self.headers = headers
    }

    init(status: HTTPResponse.Status = .ok, json value: some Encodable) {
        self.init(status: status, body: BrokerJSON.encode(value))
    }

    init(_ error: APIError) {
        self.init(status: error.status, body: BrokerJSON.encode(error.body), headers: error.headers)
    }

    var response: Response {
        var fields = HTTPFields()
        fields[.contentType] = contentType
        for (name, value) in headers { fields[name] = value }
        return Response(
            status: status,
            headers: fields,
            body: stream ?? ResponseBody(byteBuffer: ByteBuffer(bytes: body))
        )
    }
}
