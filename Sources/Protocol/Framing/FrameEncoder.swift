/// Writes frames to bytes.
public enum FrameEncoder {
    /// Appends `frame`'s wire form to `buffer`.
    ///
    /// - Precondition: the auth section is at most `FrameLimits.maxAuthLength` bytes and the
    ///   body is non-empty and at most `FrameLimits.hardMaxBodyLength` bytes. These are
    ///   programming errors on the sending side, never caused by a peer.
    @inlinable
    public static func encode(_ frame: Frame, into buffer: inout [UInt8]) {
        precondition(frame.auth.count <= FrameLimits.maxAuthLength, "auth section too large")
        precondition(
            !frame.body.isEmpty && frame.body.count <= FrameLimits.hardMaxBodyLength,
            "bad body size"
        )
        buffer.reserveCapacity(buffer.count + frame.encodedLength)
        FrameHeader(authLength: UInt16(frame.auth.count), bodyLength: UInt32(frame.body.count))
            .write(into: &buffer)
        buffer.append(contentsOf: frame.auth)
        buffer.append(contentsOf: frame.body)
    }

    /// Returns `frame`'s wire form.
    @inlinable
    public static func encode(_ frame: Frame) -> [UInt8] {
        var buffer: [UInt8] = []
        encode(frame, into: &buffer)
        return buffer
    }
}
