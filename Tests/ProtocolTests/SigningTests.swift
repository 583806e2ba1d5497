import Foundation
import RollbackProtocol
import Testing

@Suite("Request signing")
struct SigningTests {
    static let now: Int64 = 1_767_225_600
    static let key1 = try! SigningKey(id: "k1", secret: [UInt8](repeating: 1, count: 32))
    static let key2 = try! SigningKey(id: "k2", secret: [UInt8](repeating: 2, count: 32))
    static let keyring = try! Keyring(keys: [key1, key2], activeKeyID: "k2")

    private func verifier() -> RequestVerifier {
        RequestVerifier(agentID: "agent-a", keyring: Self.keyring)
    }

    private func signedRequest(
        signer: RequestSigner = RequestSigner(agentID: "agent-a", keyring: SigningTests.keyring),
        timestamp: Int64 = SigningTests.now,
        nonce: String = RequestSigner.randomNonce()
    ) throws -> (auth: [UInt8], body: [UInt8]) {
        let body = try OutgoingMessage.request(
            id: 7,
            method: JobStatus.name,
            params: JobStatus.Params(jobID: "job-1")
        )
        let auth = signer.auth(body: body, method: JobStatus.name, id: 7, timestamp: timestamp, nonce: nonce)
        return (auth.encoded(), body)
    }

    private func verdict(
        _ verifier: RequestVerifier,
        auth: [UInt8],
        body: [UInt8],
        id: RequestID? = 7
    ) -> String {
        do {
            try verifier.verify(auth: auth, body: body, method: JobStatus.name, id: id, now: Self.now)
            return "ok"
        } catch {
            return error.name
        }
    }

    @Test("a correctly signed request verifies, with the active and with an older key")
    func accepted() throws {
        let request = try signedRequest()
        #expect(verdict(verifier(), auth: request.auth, body: request.body) == "ok")
        let older = try signedRequest(signer: RequestSigner(agentID: "agent-a", key: Self.key1))
        #expect(verdict(verifier(), auth: older.auth, body: older.body) == "ok")
    }

    @Test("each kind of bad signature gets its own error")
    func distinctErrors() throws {
        let verifier = verifier()
        let foreignKey = try SigningKey(id: "k2", secret: [UInt8](repeating: 9, count: 32))
        let wrongKey = try signedRequest(signer: RequestSigner(agentID: "agent-a", key: foreignKey))
        #expect(verdict(verifier, auth: wrongKey.auth, body: wrongKey.body) == "bad_signature")

        var tamperedBody = try signedRequest()
        tamperedBody.body[tamperedBody.body.count - 4] ^= 0x01
        #expect(verdict(verifier, auth: tamperedBody.auth, body: tamperedBody.body) == "bad_signature")

        // One byte of the auth section's timestamp changed (still inside the window).
        var tamperedHeader = try signedRequest()
        let text = String(decoding: tamperedHeader.auth, as: UTF8.self)
        tamperedHeader.auth = Array(
            text.replacingOccurrences(of: "\(Self.now)", with: "\(Self.now - 1)").utf8
        )
        #expect(tamperedHeader.auth != (try signedRequest()).auth)
        #expect(verdict(verifier, auth: tamperedHeader.auth, body: tamperedHeader.body) == "bad_signature")

        let otherAgent = try signedRequest(signer: RequestSigner(agentID: "agent-b", keyring: Self.keyring))
        #expect(verdict(verifier, auth: otherAgent.auth, body: otherAgent.body) == "bad_signature")

        let expired = try signedRequest(timestamp: Self.now - 61)
        #expect(verdict(verifier, auth: expired.auth, body: expired.body) == "timestamp_expired")

        let future = try signedRequest(timestamp: Self.now + 61)
        #expect(verdict(verifier, auth: future.auth, body: future.body) == "timestamp_in_future")

        let unknownKey = try signedRequest(
            signer: RequestSigner(
                agentID: "agent-a",
                key: try SigningKey(id: "k7", secret: [UInt8](repeating: 1, count: 32))
            )
        )
        #expect(verdict(verifier, auth: unknownKey.auth, body: unknownKey.body) == "unknown_key_id")

        let original = try signedRequest(nonce: "fixed-nonce-0000000001")
        #expect(verdict(verifier, auth: original.auth, body: original.body) == "ok")
        #expect(verdict(verifier, auth: original.auth, body: original.body) == "replayed_nonce")

        #expect(verdict(verifier, auth: [], body: original.body) == "missing_signature")
        #expect(verdict(verifier, auth: Array("{}".utf8), body: original.body) == "malformed_auth")
    }

    @Test("the signature binds the request id and method")
    func bindsIDAndMethod() throws {
        let request = try signedRequest()
        #expect(verdict(verifier(), auth: request.auth, body: request.body, id: 8) == "bad_signature")
        #expect(throws: VerificationError.badSignature) {
            try verifier().verify(
                auth: request.auth,
                body: request.body,
                method: JobCancel.name,
                id: 7,
                now: Self.now
            )
        }
    }

    @Test("a nonce is forgotten once its timestamp has left the window, and refused until then")
    func replayWindow() throws {
        let verifier = RequestVerifier(
            agentID: "agent-a",
            keyring: Self.keyring,
            windowSeconds: 60,
            replayCapacity: 2
        )
        let request = try signedRequest(nonce: "nonce-window-000001")
        try verifier.verify(
            auth: request.auth,
            body: request.body,
            method: JobStatus.name,
            id: 7,
            now: Self.now
        )
        #expect(throws: VerificationError.replayed(nonce: "nonce-window-000001")) {
            try verifier.verify(
                auth: request.auth,
                body: request.body,
                method: JobStatus.name,
                id: 7,
                now: Self.now + 60
            )
        }
        // One second later the timestamp itself is refused: the nonce no longer needs remembering.
        #expect(throws: VerificationError.expired(timestamp: Self.now, now: Self.now + 61, windowSeconds: 60))
        {
            try verifier.verify(
                auth: request.auth,
                body: request.body,
                method: JobStatus.name,
                id: 7,
                now: Self.now + 61
            )
        }
    }

    @Test("a full replay cache refuses new messages instead of forgetting live nonces")
    func replayCacheFull() throws {
        let verifier = RequestVerifier(agentID: "agent-a", keyring: Self.keyring, replayCapacity: 2)
        for _ in 0..<2 {
            let request = try signedRequest()
            #expect(verdict(verifier, auth: request.auth, body: request.body) == "ok")
        }
        let third = try signedRequest()
        #expect(verdict(verifier, auth: third.auth, body: third.body) == "replay_cache_full")
        #expect(VerificationError.replayCacheFull.rpcError.code == .busy)
    }

    @Test("keyrings load from JSON and refuse short secrets, duplicates and an unknown active key")
    func keyringFile() throws {
        let secret = Data(repeating: 7, count: 32).base64EncodedString()
        let ring = try Keyring(
            json: Array(
                #"{"active":"a","keys":[{"id":"a","secret":"\#(secret)"},{"id":"b","secret":"\#(secret)"}]}"#
                    .utf8
            )
        )
        #expect(ring.activeKey.id == "a")
        #expect(ring.keyIDs == ["a", "b"])
        let short = Data(repeating: 7, count: 16).base64EncodedString()
        #expect(throws: KeyringError.secretTooShort(keyID: "a", length: 16)) {
            try Keyring(json: Array(#"{"keys":[{"id":"a","secret":"\#(short)"}]}"#.utf8))
        }
        #expect(throws: KeyringError.duplicateKeyID("a")) {
            try Keyring(
                json: Array(
                    #"{"keys":[{"id":"a","secret":"\#(secret)"},{"id":"a","secret":"\#(secret)"}]}"#.utf8
                )
            )
        }
        #expect(throws: KeyringError.unknownActiveKey("z")) {
            try Keyring(json: Array(#"{"active":"z","keys":[{"id":"a","secret":"\#(secret)"}]}"#.utf8))
        }
    }

    @Test("every vector in spec/vectors/signatures.json, in order, with one verifier")
    func signatureVectors() throws {
        let file = try SpecVectors.load("signatures.json", as: SignatureVectorFile.self)
        let keyringJSON = try JSONSerialization.data(
            withJSONObject: (try JSONSerialization.jsonObject(
                with: Data(contentsOf: SpecVectors.directory.appendingPathComponent("signatures.json"))
            ) as! [String: Any])["keyring"]!
        )
        let keyring = try Keyring(json: Array(keyringJSON))
        let verifier = RequestVerifier(
            agentID: file.agentID,
            keyring: keyring,
            windowSeconds: file.windowSeconds
        )
        #expect(file.cases.count >= 20)
        for vector in file.cases {
            let body = SpecVectors.bytes(hex: vector.bodyHex)
            let id: RequestID? =
                switch vector.id {
                case .number(let number): .number(number)
                case .string(let string): .string(string)
                case .none: nil
                }
            // The signing input this implementation builds matches the spec's, byte for byte.
            let input = SigningInput.bytes(
                agentID: vector.signedBy["agentID"]!,
                keyID: vector.signedBy["kid"]!,
                timestamp: try authTimestamp(vector) ?? file.now,
                nonce: try authNonce(vector) ?? "",
                method: vector.method,
                id: id,
                body: body
            )
            if vector.expected == "ok" {
                #expect(Hex.encode(input) == vector.signingInputHex, "\(vector.name)")
            }
            let verdict: String
            do {
                try verifier.verify(
                    auth: SpecVectors.bytes(hex: vector.authHex),
                    body: body,
                    method: vector.method,
                    id: id,
                    now: file.now
                )
                verdict = "ok"
            } catch {
                verdict = error.name
            }
            #expect(verdict == vector.expected, "\(vector.name)")
        }
    }

    private func authObject(_ vector: SignatureVectorFile.Case) throws -> [String: Any]? {
        let bytes = SpecVectors.bytes(hex: vector.authHex)
        return (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
    }

    private func authTimestamp(_ vector: SignatureVectorFile.Case) throws -> Int64? {
        (try authObject(vector)?["ts"] as? NSNumber)?.int64Value
    }

    private func authNonce(_ vector: SignatureVectorFile.Case) throws -> String? {
        try authObject(vector)?["nonce"] as? String
    }
}
