/// Size limits a peer enforces on incoming frames. Every limit is checked against the header's
/// declared lengths before a single byte of the frame's contents is buffered.
public struct FrameLimits: Hashable, Sendable {
    /// Default maximum body length: 1 MiB.
    public static let defaultMaxBodyLength = 1 << 20
    /// No configuration may raise the body limit above 16 MiB.
    public static let hardMaxBodyLength = 16 << 20
    /// The auth section is a small JSON object; 1 KiB is generous.
    public static let maxAuthLength = 1024

    /// The largest body accepted, in bytes.
    public let maxBodyLength: Int

    /// - Parameter maxBodyLength: clamped to `1...hardMaxBodyLength`.
    public init(maxBodyLength: Int = FrameLimits.defaultMaxBodyLength) {
        self.maxBodyLength = min(max(maxBodyLength, 1), FrameLimits.hardMaxBodyLength)
    }

    public static let `default` = FrameLimits()
}
