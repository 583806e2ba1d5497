import HTTPTypes
import Hummingbird
import Logging
import RollbackProtocol

/// A request body that arrived signed by a known caller.
struct SignedRequest: Sendable {
    var body: [UInt8]
    var verified: VerifiedHTTPRequest
    var target: String
    var idempotencyKey: String?
    var traceParent: String?
}

/// The first thing every `/v1` handler does: read the body (bounded), check the signature, and
/// refuse a replayed signature (remembered by the `ReplayGuard`, Redis for a broker, so every
/// instance sees it). A refusal is audited.
struct RequestAuthenticator: Sendable {
    let verifier: HTTPRequestVerifier
    let replayGuard: any ReplayGuard
    let audit: AuditLog
    let maxBodyBytes: Int

    func authenticate(
        _ request: Request,
        context: BasicRequestContext,
        action: String
    ) async throws -> SignedRequest {
        var request = request
        let buffer: NIOCore.ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: maxBodyBytes)
        } catch {
            throw APIError(
                .contentTooLarge,
                "body_too_large",
                "the request body is larger than \(maxBodyBytes) bytes",
                details: ["limit": String(maxBodyBytes)]
            )
        }
        let body = Array(buffer.readableBytesView)
        let target = request.head.path ?? "/"
        let fields = request.headers
        do {
            let verified = try verifier.verify(
                method: request.method.rawValue,
                target: target,
                keyID: fields[HTTPField.Name(HTTPSignatureHeader.keyID)!],
                timestamp: fields[HTTPField.Name(HTTPSignatureHeader.timestamp)!],
                nonce: fields[HTTPField.Name(HTTPSignatureHeader.nonce)!],
                signature: fields[HTTPField.Name(HTTPSignatureHeader.signature)!],
                body: body
            )
            if request.method != .get && request.method != .head {
                try await refuseReplay(verified)
            }
            return SignedRequest(
                body: body,
                verified: verified,
                target: target,
                idempotencyKey: fields[HTTPField.Name(HTTPSignatureHeader.idempotencyKey)!],
                traceParent: fields[HTTPField.Name("traceparent")!]
            )
        } catch let error as HTTPSignatureError {
            await audit.record(
                AuditEntry(
                    caller: nil,
                    actor: nil,
                    action: action,
                    projectID: nil,
                    outcome: "refused",
                    statusCode: 401,
                    reason: error.code.name,
                    details: [
                        "keyId": fields[HTTPField.Name(HTTPSignatureHeader.keyID)!] ?? "",
                        "path": target,
                    ],
                    requestID: context.id
                )
            )
            throw APIError(.unauthorized, error.code.name, error.message)
        }
    }

    private func refuseReplay(_ verified: VerifiedHTTPRequest) async throws {
        let ttl = Int(verifier.windowSeconds * 2 + 60)
        guard try await replayGuard.firstUse(of: verified.replayToken, ttlSeconds: ttl) else {
            throw HTTPSignatureError.replayed
        }
    }
}
