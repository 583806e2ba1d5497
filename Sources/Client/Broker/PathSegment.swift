import RollbackProtocol

/// An id placed in a request path: checked first with the protocol's own rule (so `"my project"`
/// is a clear local error, not a confusing answer), then percent-encoded all the same, so no id
/// can ever change the path's shape.
enum PathSegment {
    static func projectID(_ value: String) throws(BrokerError) -> String {
        try encode(value, field: "projectID", WireRules.projectID(value))
    }

    static func id(_ value: String, field: String) throws(BrokerError) -> String {
        try encode(value, field: field, WireRules.id(value))
    }

    /// `?name=value&…` of the pairs whose value is not nil, each value percent-encoded; "" when
    /// none is.
    static func query(_ pairs: [(String, String?)]) -> String {
        let present = pairs.compactMap { name, value in value.map { "\(name)=\(percentEncoded($0))" } }
        return present.isEmpty ? "" : "?" + present.joined(separator: "&")
    }

    private static func encode(_ value: String, field: String, _ rule: String?) throws(BrokerError) -> String
    {
        if let rule {
            throw BrokerError(
                status: nil,
                code: "invalid_argument",
                message: "\(field) \(rule), got \"\(value.prefix(140))\"",
                details: ["field": field]
            )
        }
        return percentEncoded(value)
    }

    /// Every byte but the unreserved ones (RFC 3986) as `%XX`.
    private static func percentEncoded(_ value: String) -> String {
        var encoded = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                encoded += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]], as: UTF8.self)
            }
        }
        return encoded
    }
}
