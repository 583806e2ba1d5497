import RollbackProtocol
import Testing

/// Public errors are structs with an opaque `Code`: callers compare codes, never match cases,
/// so a new code is not a breaking change. The names are the stable strings sent on the wire.
@Suite("Error codes")
struct ErrorCodeTests {
    @Test("a thrown frame error is recognised by its code, whatever its message")
    func frameErrorCode() throws {
        var decoder = FrameDecoder(limits: FrameLimits(maxBodyLength: 16))
        decoder.append([1, 0, 0, 0, 0, 0, 0, 0xFF])
        do throws(FrameError) {
            _ = try decoder.nextFrame()
            Issue.record("a 255-byte body over a 16-byte limit was accepted")
        } catch {
            #expect(error.code == .oversized)
            #expect(error.code != .truncated)
            #expect(error.name == "frame_too_large")
            #expect(error.message.contains("255"))
        }
    }

    @Test("codes carry the names the spec and the API use")
    func names() {
        #expect(FrameError.emptyBody.code == .emptyBody)
        #expect(FrameError.invalidUTF8.name == "invalid_utf8")
        #expect(HTTPSignatureError.badSignature.code.name == "bad_signature")
        #expect(HTTPSignatureError.replayed.code == .replayed)
        #expect(VerificationError.replayed(nonce: "n").rpcError.details["reason"] == "replayed_nonce")
        #expect(
            VerificationError.unknownKeyID("k").rpcError.details == ["reason": "unknown_key_id", "kid": "k"]
        )
        #expect(KeyringError.empty.code == .empty)
        #expect(KeyringError.duplicateKeyID("a").code.name == "duplicate_key_id")
    }
}
