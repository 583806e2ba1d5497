import Crypto
import Foundation
import NIOPosix
import RollbackProtocol

/// Fetches artifacts into the state directory, verifies them, and keeps a content-addressed
/// cache (`cache/<sha256>.zip`) bounded in size, so syncing the same version again skips the
/// download. Nothing here touches a working directory.
struct ArtifactStore: Sendable {
    let cacheDirectory: String
    let temporaryDirectory: String
    let maxCacheBytes: Int64
    let stallTimeout: Duration

    /// Fetches `artifact`: returns where the file is now and its check. The check of a
    /// download runs on beside the caller: `check.wait()` says whether the file is the artifact
    /// and where it is once stored, and must have returned before anything is written from it.
    ///
    /// - Parameters:
    ///   - keep: false for a dry run, which must leave the state directory as it was: a cached
    ///     copy is not marked as used, and a download is not added to the cache; its temporary
    ///     file (the path `check.wait()` returns when `fromCache` is false) is for the caller
    ///     to delete.
    ///   - downloaded: called with the bytes received so far (downloading phase).
    func fetch(
        _ artifact: WorkdirSync.Artifact,
        jobID: String,
        keep: Bool = true,
        downloaded: @escaping @Sendable (Int64) -> Void
    ) async throws(RPCError) -> (path: String, fromCache: Bool, check: ArtifactCheck) {
        let expected = artifact.sha256.lowercased()
        let cached = "\(cacheDirectory)/\(expected).zip"
        if isCached(artifact),
            (try? await Self.sha256(ofFile: cached)) == expected
        {
            if keep { utime(cached, nil) }  // most recently used
            downloaded(artifact.sizeBytes)
            return (cached, true, ArtifactCheck(passed: cached))
        }
        let partial = "\(temporaryDirectory)/\(jobID).part"
        unlink(partial)
        let store: @Sendable () throws(RPCError) -> String = { [self] () throws(RPCError) in
            guard keep else { return partial }
            do {
                try FileSystem.rename(partial, cached)
            } catch {
                throw RPCError(
                    .unavailable,
                    "could not store the artifact: \(error)",
                    details: ["reason": "disk"]
                )
            }
            evict(keeping: cached)
            return cached
        }
        let (size, check) = try await download(
            artifact,
            to: partial,
            expected: expected,
            accept: store,
            downloaded: downloaded
        )
        guard size == artifact.sizeBytes else {
            check.abandon()
            unlink(partial)
            throw RPCError(
                .artifactRejected,
                "the artifact has \(size) bytes; \(artifact.sizeBytes) were expected",
                details: [
                    "reason": "size_mismatch", "expected": String(artifact.sizeBytes), "actual": String(size),
                ]
            )
        }
        return (partial, false, check)
    }

    private func download(
        _ artifact: WorkdirSync.Artifact,
        to path: String,
        expected: String,
        accept: @escaping @Sendable () throws(RPCError) -> String,
        downloaded: @escaping @Sendable (Int64) -> Void
    ) async throws(RPCError) -> (size: Int64, check: ArtifactCheck) {
        guard let url = URL(string: artifact.url) else {
            throw RPCError(.invalidParams, "artifact.url is not a URL", details: ["field": "artifact.url"])
        }
        // Stop reading one byte past the expected size: a wrong size is then known without
        // storing an arbitrarily large body.
        let limit = artifact.sizeBytes + 1
        if url.isFileURL {
            let (size, digest) = try await copyFile(url.path, to: path, limit: limit, downloaded: downloaded)
            // Hashed as it was copied: a wrong digest fails now (a wrong size is the caller's).
            guard size != artifact.sizeBytes || digest == expected else {
                unlink(path)
                throw ArtifactCheck.mismatch(digest: digest, expected: expected)
            }
            return (size, ArtifactCheck(hashed: path, digest: digest, expected: expected, accept: accept))
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw RPCError(
                .unavailable,
                "cannot create \(path): \(String(cString: strerror(errno)))",
                details: ["reason": "disk"]
            )
        }
        defer { close(fd) }
        let check = ArtifactCheck(following: path, expected: expected, accept: accept)
        let cancel = CancelFlag()
        let stallSeconds = Int(stallTimeout.components.seconds)
        do {
            let url = artifact.url
            let size = try await withTaskCancellationHandler {
                try await NIOThreadPool.singleton.runIfActive {
                    try CurlDownload.run(
                        url: url,
                        into: fd,
                        maxBytes: limit,
                        stallSeconds: stallSeconds,
                        cancel: cancel
                    ) { received in
                        check.wrote(received)
                        downloaded(received)
                    }
                }
            } onCancel: {
                cancel.set()
            }
            check.downloadEnded()
            return (size, check)
        } catch let failure as CurlDownload.Failure {
            check.abandon()
            unlink(path)
            switch failure {
            case .status(404), .status(410):
                throw RPCError(
                    .notFound,
                    "the artifact store answered 404 for \(artifact.url)",
                    details: ["reason": "artifact_not_found"]
                )
            case .status(let status):
                throw RPCError(
                    .unavailable,
                    "the artifact store answered HTTP \(status)",
                    details: ["reason": "http_status", "status": String(status)]
                )
            case .tooLarge(let size):
                throw RPCError(
                    .artifactRejected,
                    "the artifact is larger than the \(artifact.sizeBytes) bytes expected (\(size) bytes or more)",
                    details: ["reason": "size_mismatch", "expected": String(artifact.sizeBytes)]
                )
            case .stalled:
                throw RPCError(
                    .deadlineExceeded,
                    "the download stalled: no data for \(stallTimeout)",
                    details: ["reason": "download_stalled"]
                )
            case .cancelled:
                throw RPCError(.cancelled, "the sync was cancelled during the download")
            case .transport(let message):
                throw RPCError(
                    .unavailable,
                    "the download failed: \(message)",
                    details: ["reason": "download_failed"]
                )
            }
        } catch {
            check.abandon()
            unlink(path)
            throw RPCError(
                .unavailable,
                "the download failed: \(error)",
                details: ["reason": "download_failed"]
            )
        }
    }

    private func copyFile(
        _ source: String,
        to path: String,
        limit: Int64,
        downloaded: @escaping @Sendable (Int64) -> Void
    )
        async throws(RPCError) -> (Int64, String)
    {
        guard FileSystem.info(source)?.kind == .file else {
            throw RPCError(.notFound, "no artifact at \(source)", details: ["reason": "artifact_not_found"])
        }
        do {
            return try await NIOThreadPool.singleton.runIfActive {
                var hasher = SHA256()
                var size: Int64 = 0
                try FileSystem.createFile(path, mode: 0o600) { write in
                    try FileSystem.readFile(source, chunkSize: 1 << 20) { chunk in
                        size += Int64(chunk.count)
                        if size > limit { return }
                        hasher.update(bufferPointer: chunk)
                        try write(chunk)
                        downloaded(size)
                    }
                }
                return (min(size, limit), Hex.encode(hasher.finalize()))
            }
        } catch {
            unlink(path)
            throw RPCError(.unavailable, "copying \(source) failed: \(error)", details: ["reason": "disk"])
        }
    }

    /// Whether a copy of the right size is in the cache (its digest is checked when it is used).
    func isCached(_ artifact: WorkdirSync.Artifact) -> Bool {
        FileSystem.info("\(cacheDirectory)/\(artifact.sha256.lowercased()).zip")?.size
            == UInt64(artifact.sizeBytes)
    }

    /// SHA-256 of a file, read on the thread pool.
    static func sha256(ofFile path: String) async throws -> String {
        try await NIOThreadPool.singleton.runIfActive {
            var hasher = SHA256()
            try FileSystem.readFile(path, chunkSize: 1 << 20) { hasher.update(bufferPointer: $0) }
            return Hex.encode(hasher.finalize())
        }
    }

    /// Deletes the least recently used cached artifacts until the cache fits its bound.
    private func evict(keeping kept: String) {
        guard let names = try? FileSystem.listDirectory(cacheDirectory) else { return }
        var files: [(path: String, size: Int64, used: Int)] = []
        for name in names where name.hasSuffix(".zip") {
            let path = "\(cacheDirectory)/\(name)"
            var st = stat()
            guard stat(path, &st) == 0 else { continue }
            files.append((path, Int64(st.st_size), st.st_mtim.tv_sec))
        }
        var total = files.reduce(0) { $0 + $1.size }
        for file in files.sorted(by: { $0.used < $1.used }) where total > maxCacheBytes && file.path != kept {
            unlink(file.path)
            total -= file.size
        }
    }
}
