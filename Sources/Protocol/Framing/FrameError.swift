/// Why a byte stream could not be read as frames, or a frame's body as a JSON-RPC object.
///
/// Every frame error ends the connection, because after one the stream cannot be
/// resynchronised. Compare ``code`` with the static members of ``Code`` (`error.code ==
/// .oversized`); a new code can be added without breaking a `switch` in someone else's module,
/// which an enum could not promise (the shape of swift-nio's `FileSystemError`).
public struct FrameError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of framing error. Its ``name`` is stable and machine-readable: it is sent as
    /// `details.reason` and used by `spec/vectors/`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Wrapped: String, Sendable {
            case unsupportedVersion = "unsupported_frame_version"
            case reservedBitsSet = "reserved_bits_set"
            case oversized = "frame_too_large"
            case authTooLarge = "auth_too_large"
            case emptyBody = "empty_body"
            case truncated
            case invalidUTF8 = "invalid_utf8"
            case invalidJSON = "invalid_json"
        }

        fileprivate let wrapped: Wrapped

        /// The header's version byte is not one this peer speaks.
        public static var unsupportedVersion: Self { Self(wrapped: .unsupportedVersion) }
        /// A reserved flag bit is set.
        public static var reservedBitsSet: Self { Self(wrapped: .reservedBitsSet) }
        /// The declared body length exceeds the limit (checked before anything is allocated).
        public static var oversized: Self { Self(wrapped: .oversized) }
        /// The declared auth section length exceeds `FrameLimits.maxAuthLength`.
        public static var authTooLarge: Self { Self(wrapped: .authTooLarge) }
        /// The declared body length is zero.
        public static var emptyBody: Self { Self(wrapped: .emptyBody) }
        /// The stream ended inside a frame.
        public static var truncated: Self { Self(wrapped: .truncated) }
        /// The body (or auth section) is not valid UTF-8.
        public static var invalidUTF8: Self { Self(wrapped: .invalidUTF8) }
        /// The body (or auth section) is not a JSON object.
        public static var invalidJSON: Self { Self(wrapped: .invalidJSON) }

        /// The stable machine-readable name (`frame_too_large`).
        public var name: String { wrapped.rawValue }
        public var description: String { name }
    }

    /// What went wrong, for code to compare.
    public let code: Code
    /// What went wrong, for a person: the declared and allowed sizes, the bytes received.
    public let message: String

    /// The stable machine-readable name of ``code``.
    public var name: String { code.name }
    public var description: String { message }

    private init(_ code: Code.Wrapped, _ message: String) {
        self.code = Code(wrapped: code)
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

    public static func invalidJSON(_ reason: String) -> Self {
        Self(.invalidJSON, "frame body is not a JSON object: \(reason)")
    }
}
