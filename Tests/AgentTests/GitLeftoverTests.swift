import Foundation
import TestSupport
import Testing

@testable import RollbackAgent

/// What a killed or failed git write leaves in a repository, and how it goes: recovery at start
/// removes locks and unfinished packs; a pack that fails to be written removes its own file.
@Suite("Agent git leftovers")
struct GitLeftoverTests {
    @Test("recovery removes lock files, unfinished packs and indexes without a pack; keeps whole packs")
    func recoveryRemovesLeftovers() throws {
        let work = TemporaryFiles.directory(prefix: "rbk-git-leftovers")
        defer { try? FileManager.default.removeItem(atPath: work) }
        try "one\n".write(toFile: "\(work)/a.txt", atomically: true, encoding: .utf8)
        try Shell.git("init", "-q", "-b", "main", in: work)
        try Shell.git("add", "-A", in: work)
        try Shell.git("commit", "-q", "-m", "one", in: work)
        // A whole pack (git's own), then what a writer killed part way leaves beside it.
        try Shell.git("repack", "-a", "-d", "-q", in: work)
        let pack = "\(work)/.git/objects/pack"
        let whole = try FileManager.default.contentsOfDirectory(atPath: pack).sorted()
        #expect(whole.contains { $0.hasSuffix(".pack") } && whole.contains { $0.hasSuffix(".idx") })
        let leftovers = [
            "\(pack)/tmp-trees-4242.pack", "\(pack)/pack-0000000000000000000000000000000000000000.idx",
            "\(work)/.git/index.lock", "\(work)/.git/refs/tags/rollback-r1.lock",
        ]
        for path in leftovers { try Data("partial".utf8).write(to: URL(fileURLWithPath: path)) }

        GitRepository.removeCrashLeftovers(gitDirectory: "\(work)/.git")

        for path in leftovers { #expect(!FileManager.default.fileExists(atPath: path), "\(path) is left") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: pack).sorted() == whole)
        let fsck = try Shell.git("fsck", "--full", "--strict", in: work)
        #expect(!fsck.contains("error"), "\(fsck)")
    }

    @Test("a pack that is not finished removes its temporary file")
    func unfinishedPackIsRemoved() throws {
        let directory = TemporaryFiles.directory(prefix: "rbk-pack-writer")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let writer = try PackWriter(directory: directory, count: 2, name: "trees-1")
            _ = try writer.addObject(.blob, size: 3) { write in
                try Array("abc".utf8).withUnsafeBytes { try write($0) }
            }
            #expect(FileManager.default.fileExists(atPath: "\(directory)/tmp-trees-1.pack"))
            // One of two objects: finishing fails, and the writer goes.
            #expect(throws: PackWriter.WriteError.self) { _ = try writer.finish() }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == [])
    }
}
