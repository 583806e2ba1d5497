import CCurl
import RollbackProtocol
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A flag a task's cancellation handler sets and a blocking transfer polls.
final class CancelFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .relaxed) }
    var isSet: Bool { flag.load(ordering: .relaxed) }
}

/// Streams an HTTP(S) body into an open file descriptor with libcurl: the only type that touches
/// libcurl (`ArtifactCheck` hashes the file as it is written, on a thread of its own). The body is written from curl's write callback before curl reads
/// more, so memory stays flat whatever the artifact's size (URLSession on Linux buffers ahead of
/// its delegate without limit, which is why it is not used). Blocking: run on a thread pool.
final class CurlDownload {
    enum Failure: Error {
        case status(Int)
        case tooLarge(Int64)
        case stalled
        case cancelled
        case transport(String)
    }

    private static let initialised: Bool = {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
        return true
    }()

    /// State the C callbacks reach through their context pointer.
    private final class Context {
        let fileDescriptor: Int32
        let maxBytes: Int64
        let progress: (Int64) -> Void
        let cancel: CancelFlag
        var curl: UnsafeMutableRawPointer?
        var received: Int64 = 0
        var failure: Failure?
        var checkedStatus = false

        init(fileDescriptor: Int32, maxBytes: Int64, progress: @escaping (Int64) -> Void, cancel: CancelFlag)
        {
            self.fileDescriptor = fileDescriptor
            self.maxBytes = maxBytes
            self.progress = progress
            self.cancel = cancel
        }

        func consume(_ data: UnsafeRawBufferPointer) -> Bool {
            if !checkedStatus {
                checkedStatus = true
                var code = 0
                _ = rollback_curl_response_code(curl, &code)
                if code != 200 {
                    failure = .status(code)
                    return false
                }
            }
            received += Int64(data.count)
            if received > maxBytes {
                failure = .tooLarge(received)
                return false
            }
            var offset = 0
            while offset < data.count {
                let written = write(fileDescriptor, data.baseAddress! + offset, data.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = .transport("writing the download failed: \(String(cString: strerror(errno)))")
                    return false
                }
                offset += written
            }
            progress(received)
            return true
        }
    }

    /// Runs the transfer; returns the byte count. `progress` is told the count after each write.
    static func run(
        url: String,
        into fileDescriptor: Int32,
        maxBytes: Int64,
        stallSeconds: Int,
        cancel: CancelFlag,
        progress: @escaping (Int64) -> Void
    ) throws(Failure) -> Int64 {
        _ = initialised
        guard let curl = curl_easy_init() else { throw .transport("libcurl could not start a transfer") }
        defer { curl_easy_cleanup(curl) }
        let context = Context(
            fileDescriptor: fileDescriptor,
            maxBytes: maxBytes,
            progress: progress,
            cancel: cancel
        )
        context.curl = curl
        let unmanaged = Unmanaged.passRetained(context)
        defer { unmanaged.release() }

        _ = rollback_curl_set_string(curl, CURLOPT_URL, url)
        _ = rollback_curl_set_string(curl, CURLOPT_PROTOCOLS_STR, "http,https")
        _ = rollback_curl_set_string(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        _ = rollback_curl_set_long(curl, CURLOPT_FOLLOWLOCATION, 1)
        _ = rollback_curl_set_long(curl, CURLOPT_MAXREDIRS, 5)
        _ = rollback_curl_set_long(curl, CURLOPT_NOSIGNAL, 1)
        _ = rollback_curl_set_long(curl, CURLOPT_CONNECTTIMEOUT, 15)
        // A transfer slower than 1 byte/s for `stallSeconds` has stalled.
        _ = rollback_curl_set_long(curl, CURLOPT_LOW_SPEED_LIMIT, 1)
        _ = rollback_curl_set_long(curl, CURLOPT_LOW_SPEED_TIME, stallSeconds)
        _ = rollback_curl_set_string(curl, CURLOPT_USERAGENT, "rollback-agent")
        _ = rollback_curl_set_pointer(curl, CURLOPT_WRITEDATA, unmanaged.toOpaque())
        _ = rollback_curl_set_write_function(curl) { data, size, count, context in
            let context = Unmanaged<Context>.fromOpaque(context!).takeUnretainedValue()
            let length = size * count
            return context.consume(UnsafeRawBufferPointer(start: data, count: length)) ? length : 0
        }
        _ = rollback_curl_set_long(curl, CURLOPT_NOPROGRESS, 0)
        _ = rollback_curl_set_pointer(curl, CURLOPT_XFERINFODATA, unmanaged.toOpaque())
        _ = rollback_curl_set_progress_function(curl) { context, _, _, _, _ in
            Unmanaged<Context>.fromOpaque(context!).takeUnretainedValue().cancel.isSet ? 1 : 0
        }

        let code = curl_easy_perform(curl)
        if let failure = context.failure { throw failure }
        switch code {
        case CURLE_OK:
            var status = 0
            _ = rollback_curl_response_code(curl, &status)
            guard status == 200 else { throw .status(status) }  // an empty body skips the write callback
            return context.received
        case CURLE_ABORTED_BY_CALLBACK:
            throw .cancelled
        case CURLE_OPERATION_TIMEDOUT:
            throw .stalled
        default:
            throw .transport(String(cString: curl_easy_strerror(code)))
        }
    }
}
