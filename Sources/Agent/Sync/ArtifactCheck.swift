import Crypto
import Dispatch
import Foundation
import RollbackProtocol

/// The SHA-256 check of a downloaded artifact, on a thread of its own that follows the file as
/// the download writes it. The download then runs at the network's speed, not the hash's (on
/// this class of machine SHA-256 is slower than a local network), and what is left of the hash
/// when the last byte arrives runs beside the sync's reading of the archive's central directory.
///
/// The rule that keeps this safe: nothing from the archive is written anywhere before `wait()`
/// has returned. Until then the file is only read, by code built for hostile archives.
final class ArtifactCheck: @unchecked Sendable {
    // @unchecked: every mutable field is guarded by `condition`.
    private let condition = NSCondition()
    /// Bytes of the file the download has written so far.
    private var written: Int64 = 0
    /// The download ended: `written` is final (or the check is abandoned).
    private var ended = false
    private var abandoned = false
    /// What the hash said (set once the thread is done).
    private var verdict: Result<Void, RPCError>?
    /// Where the accepted file is, once `wait()` has accepted it.
    private var accepted: Result<String, RPCError>?
    private let done = DispatchGroup()
    private let path: String
    /// The file checked, open until the check is dropped: while it is open its inode cannot be
    /// reused, so the path is deleted only while it still names this file (a retry of the same
    /// job downloads to the same path).
    private let descriptor: Int32
    private let inode: UInt64?
    private let accept: @Sendable () throws(RPCError) -> String

    /// A check that has already passed (a copied or cached artifact, hashed as it was read).
    init(passed path: String) {
        self.path = path
        self.descriptor = -1
        self.inode = nil
        self.accept = { path }
        verdict = .success(())
        accepted = .success(path)
    }

    /// Starts hashing `path` (which must exist) as the download writes it. When the hash is
    /// `expected`, the first `wait()` calls `accept`, which stores the file and returns where it
    /// now is (the caller's thread does that, so the file does not move under a reader that
    /// opened it by its first path before the check was done). When not, the file is deleted.
    init(
        following path: String,
        expected: String,
        accept: @escaping @Sendable () throws(RPCError) -> String
    ) {
        self.path = path
        self.accept = accept
        (descriptor, inode) = Self.open(path)
        DispatchQueue.global().async(group: done) { [self] in
            let result = check(descriptor, expected: expected)
            condition.lock()
            verdict = result
            condition.unlock()
        }
    }

    /// A check of `path` whose digest is already known (a copy hashed as it was read); it
    /// passes, stores and deletes as a followed download does.
    init(
        hashed path: String,
        digest: String,
        expected: String,
        accept: @escaping @Sendable () throws(RPCError) -> String
    ) {
        self.path = path
        self.accept = accept
        (descriptor, inode) = Self.open(path)
        verdict = verdict(of: digest, expected: expected)
    }

    /// `path` opened for reading, and its inode (nil when it cannot be opened).
    private static func open(_ path: String) -> (descriptor: Int32, inode: UInt64?) {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        var status = stat()
        return (fd, fd >= 0 && fstat(fd, &status) == 0 ? UInt64(status.st_ino) : nil)
    }

    deinit {
        // Checked but never accepted (the sync failed or was cancelled before it needed the
        // file): nothing will use the download.
        if accepted == nil { deleteFile() }
        if descriptor >= 0 { close(descriptor) }
    }

    /// Deletes the checked file, if its path still names it.
    private func deleteFile() {
        guard let inode, FileSystem.info(path).map({ UInt64($0.inode) }) == inode else { return }
        unlink(path)
    }

    /// The download wrote up to `total` bytes.
    func wrote(_ total: Int64) {
        condition.lock()
        written = total
        condition.signal()
        condition.unlock()
    }

    /// The download is complete: `wrote` was told its last byte.
    func downloadEnded() {
        condition.lock()
        ended = true
        condition.signal()
        condition.unlock()
    }

    /// The download failed: the check stops as soon as it can, and its result is not used.
    func abandon() {
        condition.lock()
        ended = true
        abandoned = true
        condition.signal()
        condition.unlock()
    }

    /// Waits until the hash has given its verdict, without storing the file.
    func waitForVerdict() {
        done.wait()
    }

    /// Waits for the check; returns the verified artifact's path, or throws why it failed.
    /// The first call after a passing check stores the file (see `init(following:)`).
    func wait() throws(RPCError) -> String {
        done.wait()
        condition.lock()
        defer { condition.unlock() }
        if let accepted { return try accepted.get() }
        guard let verdict else { preconditionFailure("the check finished without a verdict") }
        let result = Result { () throws(RPCError) -> String in
            try verdict.get()
            return try accept()
        }
        accepted = result
        return try result.get()
    }

    private func check(_ fd: Int32, expected: String) -> Result<Void, RPCError> {
        guard fd >= 0 else {
            return .failure(RPCError(.unavailable, "cannot read the download back: \(path)"))
        }
        guard let digest = hash(fd) else {
            return .failure(RPCError(.unavailable, "the download ended before it was checked"))
        }
        return verdict(of: digest, expected: expected)
    }

    /// Passes when `digest` is `expected`; else deletes the file and names both.
    private func verdict(of digest: String, expected: String) -> Result<Void, RPCError> {
        guard digest == expected else {
            deleteFile()
            return .failure(Self.mismatch(digest: digest, expected: expected))
        }
        return .success(())
    }

    /// The failure of an artifact whose SHA-256 is `digest`, not `expected`.
    static func mismatch(digest: String, expected: String) -> RPCError {
        RPCError(
            .artifactRejected,
            "the artifact's SHA-256 is \(digest); \(expected) was expected",
            details: ["reason": "checksum_mismatch", "expected": expected, "actual": digest]
        )
    }

    /// The SHA-256 of what the download writes to `fd`; nil when it was abandoned or the file
    /// cannot be read.
    private func hash(_ fd: Int32) -> String? {
        var hasher = SHA256()
        let capacity = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        defer { buffer.deallocate() }
        var offset: Int64 = 0
        while true {
            condition.lock()
            while written == offset, !ended { condition.wait() }
            let (available, isLast, stop) = (written, ended, abandoned)
            condition.unlock()
            if stop { return nil }
            while offset < available {
                let count = pread(fd, buffer, Int(min(Int64(capacity), available - offset)), off_t(offset))
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { return nil }
                hasher.update(bufferPointer: UnsafeRawBufferPointer(start: buffer, count: count))
                offset += Int64(count)
            }
            if isLast { return Hex.encode(hasher.finalize()) }
        }
    }
}
