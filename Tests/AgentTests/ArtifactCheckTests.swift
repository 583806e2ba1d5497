import Crypto
import Foundation
import RollbackProtocol
import Testing

@testable import RollbackAgent

/// The artifact's check follows a file as it is written: it passes only on the whole file's
/// digest, stores the file once, and deletes a file nothing will use, but never one that took
/// its path since.
@Suite("Agent artifact check")
struct ArtifactCheckTests {
    static func hex(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    /// Writes `bytes` to `path` in pieces, telling `check` after each, as the download does.
    static func download(_ bytes: [UInt8], to fd: Int32, telling check: ArtifactCheck) {
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + 70_001, bytes.count)
            bytes[offset..<end].withUnsafeBytes { _ = write(fd, $0.baseAddress, $0.count) }
            offset = end
            check.wrote(Int64(offset))
        }
        check.downloadEnded()
    }

    static func bytes(_ count: Int) -> [UInt8] {
        var random = SeededRandom(seed: 42)
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }

    @Test("the whole file's digest passes; the file is stored once, on the first wait")
    func passes() throws {
        let directory = TemporaryFiles.directory(prefix: "rbk-check")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (path, stored) = ("\(directory)/job.part", "\(directory)/stored.zip")
        let content = Self.bytes(3_000_000)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        defer { close(fd) }
        let accepted = Counter()
        let check = ArtifactCheck(following: path, expected: Self.hex(content)) { () throws(RPCError) in
            accepted.add()
            guard rename(path, stored) == 0 else { throw RPCError(.unavailable, "rename") }
            return stored
        }
        Self.download(content, to: fd, telling: check)
        #expect(try check.wait() == stored)
        #expect(try check.wait() == stored)
        #expect(accepted.value == 1)
        #expect(FileManager.default.contents(atPath: stored) == Data(content))
    }

    @Test("a wrong digest fails as checksum_mismatch and deletes the file")
    func wrongDigest() throws {
        let directory = TemporaryFiles.directory(prefix: "rbk-check")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/job.part"
        let content = Self.bytes(500_000)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        defer { close(fd) }
        let check = ArtifactCheck(following: path, expected: String(repeating: "0", count: 64)) { path }
        Self.download(content, to: fd, telling: check)
        #expect {
            try check.wait()
        } throws: { error in
            (error as? RPCError)?.details["reason"] == "checksum_mismatch"
                && (error as? RPCError)?.details["actual"] == Self.hex(content)
        }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test("a check dropped unused deletes its file, but not a newer one at the same path")
    func droppedUnused() async throws {
        let directory = TemporaryFiles.directory(prefix: "rbk-check")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/job.part"
        let content = Self.bytes(200_000)
        for replaced in [false, true] {
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            weak var released: ArtifactCheck?
            do {
                let check = ArtifactCheck(following: path, expected: Self.hex(content)) { path }
                released = check
                Self.download(content, to: fd, telling: check)
                close(fd)
                // Hashed and done with: the old file's inode would be free for the new one.
                check.waitForVerdict()
                if replaced {
                    // A retry of the job downloads to the same path meanwhile.
                    unlink(path)
                    _ = FileManager.default.createFile(atPath: path, contents: Data("retry".utf8))
                }
            }
            // Its thread holds it until the hash is done; then it is gone, and has acted.
            try await waitUntil("the check to be released") { released == nil }
            #expect(FileManager.default.fileExists(atPath: path) == replaced, "replaced: \(replaced)")
        }
    }

    @Test("an abandoned download ends the check without a verdict on the file")
    func abandoned() throws {
        let directory = TemporaryFiles.directory(prefix: "rbk-check")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/job.part"
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        defer { close(fd) }
        let check = ArtifactCheck(following: path, expected: String(repeating: "0", count: 64)) { path }
        check.wrote(0)
        check.abandon()
        #expect(throws: RPCError.self) { try check.wait() }
    }
}

/// A count shared with a `@Sendable` closure.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
