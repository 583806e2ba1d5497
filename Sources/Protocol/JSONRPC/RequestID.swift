/// A JSON-RPC request id: an integer or a string (this protocol never uses `null` ids on
/// requests; `null` appears only on error responses to frames whose id could not be read).
public enum RequestID: Hashable, Sendable, Codable {
    case number(Int64)
    case string(String)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Int64.self) {
            self = .number(number)
        } else {
            self = .string(try container.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .number(let number): try container.encode(number)
        case .string(let string): try container.encode(string)
        }
    }

    /// The id as it appears in the signing input: `n:<decimal>` or `s:<string>`.
    public var signingForm: String {
        switch self {
        case .number(let number): "n:\(number)"
        case .string(let string): "s:\(string)"
        }
    }
}

extension RequestID: CustomStringConvertible {
    public var description: String {
        switch self {
        case .number(let number): String(number)
        case .string(let string): string
        }
    }
}

extension RequestID: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral {
    public init(integerLiteral value: Int64) { self = .number(value) }
    public init(stringLiteral value: String) { self = .string(value) }
}
