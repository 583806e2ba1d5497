/// One frame: an optional auth section (present on signed client messages) and a JSON-RPC body.
///
/// Both are kept as the exact bytes that travel on the wire, because signatures are computed
/// over those bytes and never over re-serialised JSON.
public struct Frame: Hashable, Sendable {
    /// The auth section's bytes (a small JSON object), empty when the frame is unsigned.
    public var auth: [UInt8]
    /// The JSON-RPC 2.0 object's bytes, UTF-8.
    public var body: [UInt8]

    public init(auth: [UInt8] = [], body: [UInt8]) {
        self.auth = auth
        self.body = body
    }

    /// Whether the frame carries an auth section.
    public var isSigned: Bool { !auth.isEmpty }

    /// Number of bytes the frame occupies on the wire.
    public var encodedLength: Int { FrameHeader.byteCount + auth.count + body.count }
}
