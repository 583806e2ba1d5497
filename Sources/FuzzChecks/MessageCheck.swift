import RollbackProtocol

/// A frame's contents as the agent reads them: the body as a JSON-RPC message, the auth section
/// through the verifier, the params of a known method decoded and validated. Input layout: one
/// mode byte, two bytes of auth length (big-endian), the auth section, the body. With the mode's
/// low bit set the body is signed with the real key instead, so the fuzzer also reaches what
/// lies behind a good signature. Properties:
/// - a message the fuzzer signed itself never verifies (no forgery), unless it is byte-for-byte
///   a signature the key made;
/// - a message signed with the key always verifies, once (a replay is refused);
/// - nothing traps, whatever the params.
enum MessageCheck {
    static let agentID = "agent-fuzz"
    static let now: Int64 = 1_767_225_600
    static let key = try! SigningKey(id: "k1", secret: Array(0..<32) as [UInt8])
    static let keyring = try! Keyring(keys: [key], activeKeyID: "k1")
    static let signer = RequestSigner(agentID: agentID, key: key)

    static func run(_ input: [UInt8]) -> Bool {
        guard input.count >= 3 else { return false }
        let signs = input[0] & 1 == 1
        let authLength = min(Int(input[1]) << 8 | Int(input[2]), input.count - 3)
        let forgedAuth = Array(input[3..<(3 + authLength)])
        let body = Array(input[(3 + authLength)...])
        guard let message = try? IncomingMessage(body: body) else { return false }
        // A fresh replay cache per input: one that grew across inputs would look like a leak to
        // libFuzzer (and make every run pay for a leak scan).
        let verifier = RequestVerifier(agentID: agentID, keyring: keyring, replayCapacity: 16)
        _ = message.trace
        guard let method = message.method else { return false }
        let signable = RequestSigner.canSign(method: method, id: message.id)
        if signs, signable {
            let auth = signer.auth(body: body, method: method, id: message.id, timestamp: now).encoded()
            do {
                try verifier.verify(auth: auth, body: body, method: method, id: message.id, now: now)
            } catch {
                require(false, "a message signed with the key was refused: \(error)")
            }
            do {
                try verifier.verify(auth: auth, body: body, method: method, id: message.id, now: now)
                require(false, "a replayed message was accepted")
            } catch {}
            decodeParams(message)
            return true
        } else {
            do {
                try verifier.verify(auth: forgedAuth, body: body, method: method, id: message.id, now: now)
                require(false, "a forged auth section verified")
            } catch {}
            return false
        }
    }

    /// Decodes the params of every method the agent serves; a sync's are validated too.
    private static func decodeParams(_ message: IncomingMessage) {
        switch message.method {
        case WorkdirSync.name:
            if let params = try? message.decodeParams(WorkdirSync.Params.self) { _ = try? params.validate() }
        case JobCancel.name: _ = try? message.decodeParams(JobCancel.Params.self)
        case JobStatus.name: _ = try? message.decodeParams(JobStatus.Params.self)
        case AgentHello.name: _ = try? message.decodeParams(AgentHello.Params.self)
        default: _ = try? message.decodeParams(EmptyParams.self)
        }
    }
}
