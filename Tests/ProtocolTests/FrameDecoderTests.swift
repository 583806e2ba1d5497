import RollbackProtocol
import Testing

@Suite("Frame codec")
struct FrameDecoderTests {
    private func sampleFrames(_ count: Int) -> [Frame] {
        (0..<count).map { index in
            Frame(
                auth: index % 3 == 0 ? Array("{\"kid\":\"k\(index)\"}".utf8) : [],
                body: Array("{\"jsonrpc\":\"2.0\",\"method\":\"x.y\",\"params\":{\"n\":\(index)}}".utf8)
            )
        }
    }

    @Test("a frame split at every byte boundary decodes the same")
    func splitAtEveryBoundary() throws {
        let frames = sampleFrames(2)
        let wire = frames.flatMap { FrameEncoder.encode($0) }
        for split in 0...wire.count {
            var decoder = FrameDecoder()
            var decoded: [Frame] = []
            decoder.append(wire[..<split])
            while let frame = try decoder.nextFrame() { decoded.append(frame) }
            decoder.append(wire[split...])
            while let frame = try decoder.nextFrame() { decoded.append(frame) }
            try decoder.finish()
            #expect(decoded == frames, "split at \(split)")
        }
    }

    @Test("bytes arriving one at a time decode the same")
    func oneByteAtATime() throws {
        let frames = sampleFrames(5)
        var decoder = FrameDecoder()
        var decoded: [Frame] = []
        for byte in frames.flatMap({ FrameEncoder.encode($0) }) {
            decoder.append(CollectionOfOne(byte))
            while let frame = try decoder.nextFrame() { decoded.append(frame) }
        }
        try decoder.finish()
        #expect(decoded == frames)
    }

    @Test("1,000 frames in one buffer")
    func thousandFramesInOneRead() throws {
        let frames = sampleFrames(1000)
        var wire: [UInt8] = []
        for frame in frames { FrameEncoder.encode(frame, into: &wire) }
        var decoder = FrameDecoder()
        decoder.append(wire)
        var decoded: [Frame] = []
        while let frame = try decoder.nextFrame() { decoded.append(frame) }
        try decoder.finish()
        #expect(decoded.count == 1000)
        #expect(decoded == frames)
        #expect(decoder.bufferedByteCount == 0)
    }

    @Test("a declared length of 2^32-1 is rejected from the header, without allocating")
    func hugeDeclaredLength() {
        var decoder = FrameDecoder()
        decoder.append([1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(
            throws: FrameError.oversized(declared: 4_294_967_295, limit: FrameLimits.defaultMaxBodyLength)
        ) {
            try decoder.nextFrame()
        }
        // Only the 8 header bytes were ever buffered; the failed decoder holds nothing.
        #expect(decoder.bufferCapacity < 64)
        #expect(decoder.bufferedByteCount == 0)
        // It stays failed: more bytes are ignored and the same error is reported.
        decoder.append([UInt8](repeating: 0, count: 100))
        #expect(
            throws: FrameError.oversized(declared: 4_294_967_295, limit: FrameLimits.defaultMaxBodyLength)
        ) {
            try decoder.nextFrame()
        }
        #expect(decoder.bufferCapacity < 64)
    }

    @Test("the configured limit is clamped to the 16 MiB hard cap")
    func hardCap() {
        #expect(FrameLimits(maxBodyLength: 1 << 30).maxBodyLength == 16 << 20)
        #expect(FrameLimits().maxBodyLength == 1 << 20)
        var decoder = FrameDecoder(limits: FrameLimits(maxBodyLength: 1 << 30))
        decoder.append([1, 0, 0, 0, 0x01, 0x00, 0x00, 0x01])  // 16 MiB + 1
        #expect(throws: FrameError.oversized(declared: (16 << 20) + 1, limit: 16 << 20)) {
            try decoder.nextFrame()
        }
    }

    @Test("a stream that ends inside a frame is reported as truncated")
    func truncatedAtEOF() throws {
        let wire = FrameEncoder.encode(Frame(body: Array("{\"a\":1}".utf8)))
        var decoder = FrameDecoder()
        decoder.append(wire.dropLast(2))
        #expect(try decoder.nextFrame() == nil)
        #expect(throws: FrameError.truncated(expected: wire.count, received: wire.count - 2)) {
            try decoder.finish()
        }
    }

    @Test(
        "every vector in spec/vectors/frames.json",
        arguments: try SpecVectors.load("frames.json", as: FrameVectorFile.self).cases.map(\.name)
    )
    func frameVectors(name: String) throws {
        let vectors = try SpecVectors.load("frames.json", as: FrameVectorFile.self).cases
        let vector = try #require(vectors.first { $0.name == name })
        var decoder = FrameDecoder(limits: FrameLimits(maxBodyLength: vector.maxBodyLength))
        decoder.append(SpecVectors.bytes(hex: vector.hex))
        var frames: [Frame] = []
        var errorName: String?
        do {
            while let frame = try decoder.nextFrame() { frames.append(frame) }
            try decoder.finish()
            for frame in frames { _ = try IncomingMessage(body: frame.body) }
        } catch let error as FrameError {
            errorName = error.name
        } catch let error as RPCError {
            errorName = error.code.name
        }
        if let expected = vector.expect.frames {
            #expect(errorName == nil, "\(name)")
            #expect(frames.map(\.auth) == expected.map { SpecVectors.bytes(hex: $0.authHex) })
            #expect(frames.map(\.body) == expected.map { SpecVectors.bytes(hex: $0.bodyHex) })
        } else {
            #expect(errorName == vector.expect.error, "\(name)")
            if vector.expect.stage == "frame" {
                #expect(frames.count == vector.expect.framesBefore ?? 0, "\(name)")
            }
        }
    }
}
