import Crypto
import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Streams an HTTP(S) response body into an open file while hashing it, never holding the body
/// in memory. A transfer that receives nothing for `stallTimeout` fails; one that grows beyond
/// `maxBytes` is stopped at once.
final class HTTPDownload: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    // @unchecked: the mutable state below is only touched under `lock`, from URLSession's
    // delegate queue and from the cancellation handler.
    enum Failure: Error {
        case status(Int)
        case tooLarge(Int64)
        case transport(String)
        case stalled
        case cancelled
    }

    private let url: URL
    private let fileDescriptor: Int32
    private let maxBytes: Int64
    private let stallTimeout: Duration
    private let progress: @Sendable (Int64) -> Void
    private let lock = NSLock()
    private var hasher = SHA256()
    private var received: Int64 = 0
    private var failure: Failure?
    private var continuation: CheckedContinuation<(Int64, SHA256.Digest), any Error>?
    private var task: URLSessionDataTask?

    init(
        url: URL,
        fileDescriptor: Int32,
        maxBytes: Int64,
        stallTimeout: Duration,
        progress: @escaping @Sendable (Int64) -> Void
    ) {
        self.url = url
        self.fileDescriptor = fileDescriptor
        self.maxBytes = maxBytes
        self.stallTimeout = stallTimeout
        self.progress = progress
    }

    /// Runs the transfer; returns the byte count and the SHA-256 of the body.
    func run() async throws -> (Int64, SHA256.Digest) {
        let configuration = URLSessionConfiguration.ephemeral
        let seconds =
            Double(stallTimeout.components.seconds) + Double(stallTimeout.components.attoseconds) / 1e18
        configuration.timeoutIntervalForRequest = seconds  // idle time between bytes
        configuration.timeoutIntervalForResource = 24 * 3600
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        let session = URLSession(configuration: configuration, delegate: self, delegateQueue: queue)
        defer { session.finishTasksAndInvalidate() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let task = session.dataTask(with: url)
                lock.withLock {
                    self.continuation = continuation
                    self.task = task
                }
                task.resume()
            }
        } onCancel: {
            fail(.cancelled)
        }
    }

    private func fail(_ error: Failure) {
        let task = lock.withLock { () -> URLSessionDataTask? in
            if failure == nil { failure = error }
            return self.task
        }
        task?.cancel()
    }

    func urlSession(
        _ session: URLSession,
        dataTask: URLSessionDataTask,
        didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        let status = (response as? HTTPURLResponse)?.statusCode ?? 200
        guard status == 200 else {
            lock.withLock { if failure == nil { failure = .status(status) } }
            completionHandler(.cancel)
            return
        }
        if response.expectedContentLength > maxBytes {
            lock.withLock { if failure == nil { failure = .tooLarge(response.expectedContentLength) } }
            completionHandler(.cancel)
            return
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        let (total, stop) = lock.withLock { () -> (Int64, Bool) in
            if failure != nil { return (received, true) }
            received += Int64(data.count)
            if received > maxBytes {
                failure = .tooLarge(received)
                return (received, true)
            }
            hasher.update(data: data)
            return (received, false)
        }
        if stop {
            dataTask.cancel()
            return
        }
        let written = data.withUnsafeBytes { raw -> Bool in
            var offset = 0
            while offset < raw.count {
                let count = write(fileDescriptor, raw.baseAddress! + offset, raw.count - offset)
                if count < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += count
            }
            return true
        }
        if !written {
            fail(.transport("writing the download failed: \(String(cString: strerror(errno)))"))
            return
        }
        progress(total)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        let (continuation, outcome):
            (
                CheckedContinuation<(Int64, SHA256.Digest), any Error>?,
                Result<(Int64, SHA256.Digest), any Error>
            ) =
                lock.withLock {
                    let continuation = self.continuation
                    self.continuation = nil
                    if let failure { return (continuation, .failure(failure)) }
                    if let error = error as? URLError {
                        return (
                            continuation,
                            .failure(
                                error.code == .timedOut
                                    ? Failure.stalled : Failure.transport(error.localizedDescription)
                            )
                        )
                    }
                    if let error { return (continuation, .failure(Failure.transport("\(error)"))) }
                    return (continuation, .success((received, hasher.finalize())))
                }
        continuation?.resume(with: outcome)
    }
}
