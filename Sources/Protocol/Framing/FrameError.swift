/// Why a byte stream could not be read as frames, or a frame's body as a JSON-RPC object.
///
/// Each case is distinct so that logs and tests can tell them apart; every one of them ends the
/// connection, because after a framing error the stream cannot be resynchronised.
public enum FrameError: Error, Hashable, Sendable {
    /// The header's version byte is not one this peer speaks.
    case unsupportedVersion(UInt8)
    /// A reserved flag bit is set.
    case reservedBitsSet(flags: UInt8)
    /// The declared body length exceeds the limit (checked before anything is allocated).
    case oversized(declared: UInt64, limit: Int)
    /// The declared auth section length exceeds `FrameLimits.maxAuthLength`.
    case authTooLarge(declared: Int, limit: Int)
    /// The declared body length is zero.
    case emptyBody
    /// The stream ended inside a frame.
    case truncated(expected: Int, received: Int)
    /// The body (or auth section) is not valid UTF-8.
    case invalidUTF8
    /// The body (or auth section) is not a JSON object.
    case invalidJSON(String)

    /// A stable machine-readable name, used in error responses and in the test vectors.
    public var name: String {
        switch self {
        case .unsupportedVersion: "unsupported_frame_version"
        case .reservedBitsSet: "reserved_bits_set"
        case .oversized: "frame_too_large"
        case .authTooLarge: "auth_too_large"
        case .emptyBody: "empty_body"
        case .truncated: "truncated"
        case .invalidUTF8: "invalid_utf8"
        case .invalidJSON: "invalid_json"
        }
    }
}

extension FrameError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .unsupportedVersion(let version):
            "frame version \(version) is not supported (this peer speaks version \(FrameHeader.currentVersion))"
        case .reservedBitsSet(let flags):
            "frame flags 0x\(String(flags, radix: 16)) set reserved bits; all must be 0"
        case .oversized(let declared, let limit):
            "frame body of \(declared) bytes exceeds the limit of \(limit) bytes"
        case .authTooLarge(let declared, let limit):
            "auth section of \(declared) bytes exceeds the limit of \(limit) bytes"
        case .emptyBody:
            "frame body is empty; a frame carries exactly one JSON-RPC object"
        case .truncated(let expected, let received):
            "stream ended inside a frame: \(received) of \(expected) bytes received"
        case .invalidUTF8:
            "frame content is not valid UTF-8"
        case .invalidJSON(let reason):
            "frame body is not a JSON object: \(reason)"
        }
    }
}
