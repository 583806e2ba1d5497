import Foundation
import RollbackArchive
import Testing

@testable import RollbackAgent

/// The pure parts of a sync's tree handling: names, the CRC cache file, in-place decisions.
@Suite("Agent tree logic")
struct TreeLogicTests {
    @Test("entry names: kept as given when clean, refused with the reason of the first bad part")
    func names() throws {
        #expect(try ArchivePlan.normalise("a/b/c.js") == "a/b/c.js")
        #expect(try ArchivePlan.normalise("dir/") == "dir")
        #expect(try ArchivePlan.normalise(".gitignore") == ".gitignore")
        #expect(try ArchivePlan.normalise("a/.git/x") == "a/.git/x")
        func reason(_ name: String) -> String {
            do {
                _ = try ArchivePlan.normalise(name)
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        #expect(reason("/etc/passwd").hasPrefix("absolutePath"))
        #expect(reason("a/../../b").hasPrefix("parentTraversal"))
        // Every component is checked before the `.git` rule, as before.
        #expect(reason(".git/../x").hasPrefix("parentTraversal"))
        #expect(reason(".git/config").hasPrefix("touchesGitDirectory"))
        #expect(reason("a//b").contains("empty or"))
        #expect(reason("a/./b").contains("empty or"))
        #expect(reason("").contains("empty name"))
        #expect(reason("/").hasPrefix("absolutePath"))
        #expect(reason("a\\b").contains("backslash"))
    }

    @Test("the CRC cache survives a save and a load; damaged lines are skipped")
    func checksumCacheRoundTrip() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("crc-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for name in ["a.txt", "dir with space/b.txt", "ünï/c.txt"] {
            let path = "\(directory)/\(name)"
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true
            )
            try Data(name.utf8).write(to: URL(fileURLWithPath: path))
        }
        let crcs: [String: UInt32] = ["a.txt": 1, "dir with space/b.txt": 4_000_000_000, "ünï/c.txt": 0]
        let cache = ChecksumCache.stamped(crcs, in: directory)
        let file = "\(directory)/cache.tsv"
        cache.save(to: file)
        var text = try String(contentsOfFile: file, encoding: .utf8)
        text += "garbage\n1\t2\t3\n\n-5\t1\t1\t1\t1\t1\t1\tneg.txt\n"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let loaded = ChecksumCache.load(from: file)
        for (path, crc) in crcs {
            let info = try #require(FileSystem.info("\(directory)/\(path)"))
            #expect(loaded.crc(for: path, info: info) == crc, "\(path)")
        }
        #expect(
            ChecksumCache.load(from: "\(directory)/missing.tsv").crc(
                for: "a.txt",
                info: FileSystem.info("\(directory)/a.txt")!
            ) == nil
        )
    }
}
