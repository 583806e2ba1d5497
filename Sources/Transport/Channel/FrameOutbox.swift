import NIOCore
import RollbackProtocol
import Synchronization

/// Funnels frames from many tasks into one connection, writing whatever has queued up in one
/// batch (one hop to the event loop and one flush per batch instead of per frame).
///
/// The first sender to find the outbox idle becomes its drainer and writes batches until the
/// queue is empty; other senders only enqueue. Frames from one task keep their order, so a
/// request's progress notifications always precede its response.
final class FrameOutbox: Sendable {
    private struct State {
        var queue: [Frame] = []
        var draining = false
        var closed = false
    }

    private let writer: NIOAsyncChannelOutboundWriter<Frame>
    private let state = Mutex(State())

    init(writer: NIOAsyncChannelOutboundWriter<Frame>) {
        self.writer = writer
    }

    /// Queues `frame`. Returns false when the connection can no longer be written to.
    @discardableResult
    func send(_ frame: Frame) async -> Bool {
        let becomeDrainer: Bool? = state.withLock { state in
            if state.closed { return nil }
            state.queue.append(frame)
            if state.draining { return false }
            state.draining = true
            return true
        }
        guard let becomeDrainer else { return false }
        guard becomeDrainer else { return true }
        if Task.isCancelled {
            // NIO refuses writes from a cancelled task; drain from a fresh one.
            await Task { await self.drain() }.value
        } else {
            await drain()
        }
        return !state.withLock { $0.closed }
    }

    private func drain() async {
        while true {
            let batch: [Frame] = state.withLock { state in
                defer { state.queue.removeAll(keepingCapacity: true) }
                if state.queue.isEmpty { state.draining = false }
                return state.queue
            }
            if batch.isEmpty { return }
            do {
                try await writer.write(contentsOf: batch)
            } catch {
                state.withLock { state in
                    state.closed = true
                    state.draining = false
                    state.queue.removeAll()
                }
                return
            }
        }
    }
}
