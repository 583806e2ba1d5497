public import Logging
import NIOCore
public import RollbackProtocol

/// What a method handler knows about the request it serves, and how it talks back before its
/// final answer.
public struct RequestContext: Sendable {
    public let id: RequestID
    public let method: String
    /// The kernel-reported identity of the calling process.
    public let peer: PeerCredentials
    /// The caller's trace context, if it sent one.
    public let trace: TraceContext?
    /// A logger carrying `rpc.id`, `rpc.method` and `peer.uid` metadata.
    public let logger: Logger
    let outbound: FrameOutbox

    /// Sends a notification to the caller (unsigned: server messages travel on a socket whose
    /// owner the client trusts). Fails silently once the connection is gone: the request's
    /// final response is what counts.
    public func notify<Notification: RPCNotificationMethod>(
        _ notification: Notification.Type,
        _ params: Notification.Params
    ) async {
        guard let body = try? OutgoingMessage.notification(method: Notification.name, params: params) else {
            return
        }
        await outbound.send(Frame(body: body))
    }

    /// Sends a `job.progress` notification tied to this request.
    public func progress(_ params: JobProgress.Params) async {
        await notify(JobProgress.self, params)
    }
}
