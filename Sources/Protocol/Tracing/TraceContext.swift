/// W3C Trace Context (https://www.w3.org/TR/trace-context/) carried in each request's `trace`
/// member, so that spans on the agent join the caller's trace.
public struct TraceContext: Hashable, Sendable, Codable {
    /// `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`
    public let traceparent: String
    /// Vendor-specific state, passed through unchanged.
    public let tracestate: String?

    /// Fails when `traceparent` is not a valid version-00 header (all-zero ids are invalid).
    public init?(traceparent: String, tracestate: String? = nil) {
        guard Self.isValid(traceparent) else { return nil }
        self.traceparent = traceparent
        self.tracestate = tracestate
    }

    /// A new root context with random ids, sampled.
    public static func random() -> TraceContext {
        var generator = SystemRandomNumberGenerator()
        func hex(_ byteCount: Int) -> String {
            var text = ""
            for _ in 0..<byteCount {
                let byte = UInt8.random(in: 0...255, using: &generator)
                text += byte < 16 ? "0" + String(byte, radix: 16) : String(byte, radix: 16)
            }
            return text
        }
        return TraceContext(traceparent: "00-\(hex(16))-\(hex(8))-01")!
    }

    /// The 32-hex-digit trace id.
    public var traceID: Substring { traceparent.dropFirst(3).prefix(32) }
    /// The 16-hex-digit id of the calling span.
    public var parentID: Substring { traceparent.dropFirst(36).prefix(16) }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let parent = try container.decode(String.self, forKey: .traceparent)
        guard Self.isValid(parent) else {
            throw DecodingError.dataCorruptedError(
                forKey: .traceparent,
                in: container,
                debugDescription: "not a version-00 W3C traceparent"
            )
        }
        traceparent = parent
        tracestate = try container.decodeIfPresent(String.self, forKey: .tracestate)
    }

    static func isValid(_ header: String) -> Bool {
        let bytes = Array(header.utf8)
        guard bytes.count == 55, bytes[2] == UInt8(ascii: "-"), bytes[35] == UInt8(ascii: "-"),
            bytes[52] == UInt8(ascii: "-")
        else { return false }
        func isLowerHex(_ range: Range<Int>) -> Bool {
            bytes[range].allSatisfy {
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                    || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0)
            }
        }
        func isAllZero(_ range: Range<Int>) -> Bool { bytes[range].allSatisfy { $0 == UInt8(ascii: "0") } }
        return isLowerHex(0..<2) && bytes[0...1] == [UInt8(ascii: "0"), UInt8(ascii: "0")]
            && isLowerHex(3..<35) && !isAllZero(3..<35)
            && isLowerHex(36..<52) && !isAllZero(36..<52)
            && isLowerHex(53..<55)
    }
}
