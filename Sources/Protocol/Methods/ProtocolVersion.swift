/// Versions of the message layer (methods, params, results), negotiated by `agent.hello`.
/// The frame layout has its own version byte in every frame header.
public enum ProtocolVersion {
    /// The message-layer versions this implementation speaks, newest last.
    public static let supported: [Int] = [1]
    public static let current = 1
}
