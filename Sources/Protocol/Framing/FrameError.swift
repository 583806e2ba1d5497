/// Why a byte stream could not be read as frames, or a frame's body as a JSON-RPC object.
///
/// Every frame error ends the connection, because after one the stream cannot be
/// resynchronised. Compare ``code`` with the codes below (`error.code == .oversized`); its name
/// is sent as `details.reason` and used by `spec/vectors/`.
public struct FrameError: Error, Hashable, Sendable, CustomStringConvertible {
    public typealias Code = ErrorCode<FrameError>

    /// What went wrong, for code to compare.
    public let code: Code
    /// What went wrong, for a person: the declared and allowed sizes, the bytes received.
    public let message: String

    /// The stable machine-readable name of ``code``.
    public var name: String { code.name }
    public var description: String { message }

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public static func unsupportedVersion(_ version: UInt8) -> Self {
        Self(
            .unsupportedVersion,
            "frame version \(version) is not supported (this peer speaks version \(FrameHeader.currentVersion))"
        )
    }

    public static func reservedBitsSet(flags: UInt8) -> Self {
        Self(.reservedBitsSet, "frame flags 0x\(String(flags, radix: 16)) set reserved bits; all must be 0")
    }

    public static func oversized(declared: UInt64, limit: Int) -> Self {
        Self(.oversized, "frame body of \(declared) bytes exceeds the limit of \(limit) bytes")
    }

    public static func authTooLarge(declared: Int, limit: Int) -> Self {
        Self(.authTooLarge, "auth section of \(declared) bytes exceeds the limit of \(limit) bytes")
    }

    public static var emptyBody: Self {
        Self(.emptyBody, "frame body is empty; a frame carries exactly one JSON-RPC object")
    }

    public static func truncated(expected: Int, received: Int) -> Self {
        Self(.truncated, "stream ended inside a frame: \(received) of \(expected) bytes received")
    }

    public static var invalidUTF8: Self { Self(.invalidUTF8, "frame content is not valid UTF-8") }

    public static func timedOut(seconds: Int64, received: Int) -> Self {
        Self(
            .timedOut,
            "a frame begun was not completed within \(seconds) s (\(received) bytes received); a slow or stuck peer"
        )
    }

    public static func invalidJSON(_ reason: String) -> Self {
        Self(.invalidJSON, "frame body is not a JSON object: \(reason)")
    }
}

extension ErrorCode where Domain == FrameError {
    /// The header's version byte is not one this peer speaks.
    public static var unsupportedVersion: Self { Self("unsupported_frame_version") }
    /// A reserved flag bit is set.
    public static var reservedBitsSet: Self { Self("reserved_bits_set") }
    /// The declared body length exceeds the limit (checked before anything is allocated).
    public static var oversized: Self { Self("frame_too_large") }
    /// The declared auth section length exceeds `FrameLimits.maxAuthLength`.
    public static var authTooLarge: Self { Self("auth_too_large") }
    /// The declared body length is zero.
    public static var emptyBody: Self { Self("empty_body") }
    /// The stream ended inside a frame.
    public static var truncated: Self { Self("truncated") }
    /// A frame begun was not completed within the receiver's frame timeout.
    public static var timedOut: Self { Self("frame_timeout") }
    /// The body (or auth section) is not valid UTF-8.
    public static var invalidUTF8: Self { Self("invalid_utf8") }
    /// The body (or auth section) is not a JSON object.
    public static var invalidJSON: Self { Self("invalid_json") }
}
