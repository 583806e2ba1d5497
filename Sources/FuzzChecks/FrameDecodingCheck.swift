import RollbackProtocol

/// Frame decoding. The first byte picks the chunk size the rest arrives in, so the fuzzer also
/// explores frames split across reads. Properties:
/// - chunking never changes the outcome: the same frames and the same error as all at once;
/// - every frame respects the limits, and re-encoding the frames gives back the bytes consumed;
/// - a hostile declared length allocates nothing: the buffer stays within what was received;
/// - after an error the decoder stays failed with that error.
enum FrameDecodingCheck {
    /// Small, so the fuzzer reaches the limit checks, and so its inputs (decoded twice, once in
    /// chunks of 1 to 16 bytes) stay short enough for millions of executions.
    static let limits = FrameLimits(maxBodyLength: 512)

    static func run(_ input: [UInt8]) -> Bool {
        guard let first = input.first else { return false }
        let stream = Array(input.dropFirst())
        let chunked = decode(stream, chunkSize: Int(first % 16) + 1)
        let whole = decode(stream, chunkSize: max(stream.count, 1))
        require(chunked.frames == whole.frames, "chunking changed the frames")
        require(
            chunked.error == whole.error,
            "chunking changed the error: \(String(describing: chunked.error)) vs \(String(describing: whole.error))"
        )
        for frame in whole.frames {
            require(frame.body.count <= limits.maxBodyLength, "a body over the limit was returned")
            require(
                frame.auth.count <= FrameLimits.maxAuthLength,
                "an auth section over the limit was returned"
            )
        }
        let reencoded = whole.frames.flatMap(FrameEncoder.encode)
        require(
            Array(stream.prefix(reencoded.count)) == reencoded,
            "re-encoding the frames differs from the input"
        )
        require(
            whole.peakCapacity <= 2 * stream.count + 64,
            "the buffer grew to \(whole.peakCapacity) bytes for \(stream.count) received"
        )
        return !whole.frames.isEmpty
    }

    private struct Outcome {
        var frames: [Frame] = []
        var error: FrameError?
        var peakCapacity = 0
    }

    private static func decode(_ stream: [UInt8], chunkSize: Int) -> Outcome {
        var decoder = FrameDecoder(limits: limits)
        var outcome = Outcome()
        var offset = 0
        repeat {
            let end = min(offset + chunkSize, stream.count)
            decoder.append(stream[offset..<end])
            offset = end
            outcome.peakCapacity = max(outcome.peakCapacity, decoder.bufferCapacity)
            do {
                while let frame = try decoder.nextFrame() { outcome.frames.append(frame) }
            } catch {
                outcome.error = error
                // Failed for good: the same error again, and nothing more is buffered.
                do {
                    _ = try decoder.nextFrame()
                    require(false, "a failed decoder returned a frame")
                } catch let again {
                    require(again == error, "a failed decoder changed its error")
                }
                return outcome
            }
        } while offset < stream.count
        do { try decoder.finish() } catch { outcome.error = error }
        return outcome
    }
}
