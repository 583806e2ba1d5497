/// The fixed 8-byte header that starts every frame.
///
/// ```
/// offset  size  field
/// 0       1     version      must be 1
/// 1       1     flags        reserved, every bit must be 0
/// 2       2     authLength   big-endian u16, length of the auth section (0 = unsigned frame)
/// 4       4     bodyLength   big-endian u32, length of the JSON-RPC body (at least 1)
/// ```
///
/// The layout is described byte by byte in `spec/protocol.md`.
public struct FrameHeader: Hashable, Sendable {
    /// The only frame version this implementation speaks.
    public static let currentVersion: UInt8 = 1
    /// Size of the header on the wire.
    public static let byteCount = 8

    public var version: UInt8
    public var flags: UInt8
    public var authLength: UInt16
    public var bodyLength: UInt32

    public init(
        version: UInt8 = FrameHeader.currentVersion,
        flags: UInt8 = 0,
        authLength: UInt16,
        bodyLength: UInt32
    ) {
        self.version = version
        self.flags = flags
        self.authLength = authLength
        self.bodyLength = bodyLength
    }

    /// Reads a header from exactly `FrameHeader.byteCount` bytes. Performs no validation.
    @inlinable
    init(bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count >= FrameHeader.byteCount)
        self.version = bytes[0]
        self.flags = bytes[1]
        self.authLength = UInt16(bytes[2]) << 8 | UInt16(bytes[3])
        self.bodyLength =
            UInt32(bytes[4]) << 24 | UInt32(bytes[5]) << 16 | UInt32(bytes[6]) << 8 | UInt32(bytes[7])
    }

    /// Appends the header's eight bytes to `buffer`.
    @inlinable
    func write(into buffer: inout [UInt8]) {
        buffer.append(version)
        buffer.append(flags)
        buffer.append(UInt8(truncatingIfNeeded: authLength >> 8))
        buffer.append(UInt8(truncatingIfNeeded: authLength))
        buffer.append(UInt8(truncatingIfNeeded: bodyLength >> 24))
        buffer.append(UInt8(truncatingIfNeeded: bodyLength >> 16))
        buffer.append(UInt8(truncatingIfNeeded: bodyLength >> 8))
        buffer.append(UInt8(truncatingIfNeeded: bodyLength))
    }
}
