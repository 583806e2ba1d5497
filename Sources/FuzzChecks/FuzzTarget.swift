/// The inputs the fuzzers throw at Rollback, one per way hostile bytes get in. Each check runs one
/// input and traps when a property fails (beyond any crash the input causes by itself), so
/// libFuzzer reports it; the same checks run over the seed corpus and every saved crash in the
/// ordinary test suite (`FuzzCheckTests`), so a crash found once stays fixed.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// Bytes from the agent's socket, through the frame decoder.
    case frames
    /// A frame's auth section and JSON-RPC body, through the message decoder and the verifier.
    case messages
    /// A JSON body of the broker's HTTP API, through its decoder, for every request type.
    case bodies
    /// An artifact, through libzip and the archive planner (every safety rule), then extracted.
    case archive

    /// Runs one input; true when it got through to the deepest stage (frames decoded, a
    /// message verified, a body accepted, an archive planned), which the seed tests use to show
    /// that the seeds reach the code behind the checks.
    @discardableResult
    public func run(_ input: [UInt8]) -> Bool {
        switch self {
        case .frames: FrameDecodingCheck.run(input)
        case .messages: MessageCheck.run(input)
        case .bodies: RequestBodyCheck.run(input)
        case .archive: ArchivePlanCheck.run(input)
        }
    }
}

/// Traps with `message` unless `condition` holds: a property the fuzzer must never break.
@inline(__always)
func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("fuzz property failed: \(message())") }
}
