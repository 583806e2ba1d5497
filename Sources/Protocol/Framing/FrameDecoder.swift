/// Turns a byte stream into frames.
///
/// An explicit state machine: bytes arrive in chunks of any size through `append(_:)`, complete
/// frames come out of `nextFrame()`. A header is validated against the limits as soon as its
/// eight bytes are present, before any room is made for the frame's contents, so a hostile
/// length costs nothing. After the first error the decoder stays failed: a byte stream cannot be
/// resynchronised, and the connection must end.
public struct FrameDecoder: Sendable {
    private enum State: Sendable {
        /// Waiting for the eight header bytes.
        case awaitingHeader
        /// Header validated; waiting for `authLength + bodyLength` content bytes.
        case awaitingContent(FrameHeader)
        /// A previous error; reported again on every call.
        case failed(FrameError)
    }

    /// The limits every incoming header is checked against.
    public let limits: FrameLimits
    private var state: State = .awaitingHeader
    /// Received bytes; those before `readIndex` have been consumed.
    private var buffer: [UInt8] = []
    private var readIndex = 0

    public init(limits: FrameLimits = .default) {
        self.limits = limits
    }

    /// Bytes received but not yet returned as part of a frame.
    public var bufferedByteCount: Int { buffer.count - readIndex }

    /// Capacity of the internal buffer; tests use it to show that a hostile declared length
    /// allocated nothing.
    public var bufferCapacity: Int { buffer.capacity }

    /// Feeds received bytes.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if case .failed = state { return }
        compactIfWorthwhile()
        buffer.append(contentsOf: bytes)
    }

    /// Feeds received bytes.
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        if case .failed = state { return }
        compactIfWorthwhile()
        buffer.append(contentsOf: bytes)
    }

    /// Returns the next complete frame, or `nil` when more bytes are needed.
    public mutating func nextFrame() throws(FrameError) -> Frame? {
        while true {
            switch state {
            case .failed(let error):
                throw error
            case .awaitingHeader:
                guard bufferedByteCount >= FrameHeader.byteCount else { return nil }
                let header = buffer.withUnsafeBytes { raw in
                    FrameHeader(
                        bytes: UnsafeRawBufferPointer(
                            rebasing: raw[readIndex..<readIndex + FrameHeader.byteCount]
                        )
                    )
                }
                if let error = validate(header) {
                    fail(error)
                    throw error
                }
                readIndex += FrameHeader.byteCount
                state = .awaitingContent(header)
            case .awaitingContent(let header):
                let authLength = Int(header.authLength)
                let bodyLength = Int(header.bodyLength)
                guard bufferedByteCount >= authLength + bodyLength else { return nil }
                let authEnd = readIndex + authLength
                let bodyEnd = authEnd + bodyLength
                let frame = Frame(
                    auth: Array(buffer[readIndex..<authEnd]),
                    body: Array(buffer[authEnd..<bodyEnd])
                )
                // The auth section's UTF-8 is a frame rule (§2), so a bad one ends the
                // connection like any bad frame; its JSON is the verifier's business (§4).
                if authLength > 0, String(validating: frame.auth, as: UTF8.self) == nil {
                    fail(.invalidUTF8)
                    throw .invalidUTF8
                }
                readIndex = bodyEnd
                state = .awaitingHeader
                return frame
            }
        }
    }

    /// Declares the end of the stream. Throws `.truncated` when it ended inside a frame.
    public mutating func finish() throws(FrameError) {
        switch state {
        case .failed(let error):
            throw error
        case .awaitingHeader:
            let received = bufferedByteCount
            guard received == 0 else {
                let error = FrameError.truncated(expected: FrameHeader.byteCount, received: received)
                fail(error)
                throw error
            }
        case .awaitingContent(let header):
            let expected = FrameHeader.byteCount + Int(header.authLength) + Int(header.bodyLength)
            let error = FrameError.truncated(
                expected: expected,
                received: FrameHeader.byteCount + bufferedByteCount
            )
            fail(error)
            throw error
        }
    }

    private func validate(_ header: FrameHeader) -> FrameError? {
        if header.version != FrameHeader.currentVersion { return .unsupportedVersion(header.version) }
        if header.flags != 0 { return .reservedBitsSet(flags: header.flags) }
        if Int(header.authLength) > FrameLimits.maxAuthLength {
            return .authTooLarge(declared: Int(header.authLength), limit: FrameLimits.maxAuthLength)
        }
        if header.bodyLength == 0 { return .emptyBody }
        if Int(header.bodyLength) > limits.maxBodyLength {
            return .oversized(declared: UInt64(header.bodyLength), limit: limits.maxBodyLength)
        }
        return nil
    }

    private mutating func fail(_ error: FrameError) {
        state = .failed(error)
        // Drop whatever the peer sent; nothing after a bad header will be read.
        buffer = []
        readIndex = 0
    }

    /// Drops consumed bytes when that is cheap (everything consumed) or worthwhile (over half).
    private mutating func compactIfWorthwhile() {
        if readIndex == 0 { return }
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            readIndex = 0
        } else if readIndex > buffer.count / 2 {
            buffer.removeSubrange(0..<readIndex)
            readIndex = 0
        }
    }
}
