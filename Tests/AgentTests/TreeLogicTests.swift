import Foundation
import RollbackArchive
import TestSupport
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
        #expect(try ArchivePlan.normalise(".github/") == ".github")
        #expect(try ArchivePlan.normalise("café/") == "café")
        // U+0600 and the `/` after it are one character: only the byte of the `/` goes.
        #expect(try ArchivePlan.normalise("\u{0600}/") == "\u{0600}")
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
        #expect(reason("../a\u{7f}").contains("control character"), "the control character is named first")
        #expect(reason(".git").hasPrefix("touchesGitDirectory"))
        #expect(reason(".git/").hasPrefix("touchesGitDirectory"))
        #expect(reason("..").hasPrefix("parentTraversal"))
        #expect(reason("a/..").hasPrefix("parentTraversal"))
        #expect(reason("./a").contains("empty or"))
        #expect(reason("a//").contains("empty or"))
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

    @Test(
        "appended CRC lines win over older ones; the file is rewritten once they outgrow the last full save"
    )
    func checksumCacheAppends() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("crc-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for name in ["a.txt", "b.txt"] {
            try Data(name.utf8).write(to: URL(fileURLWithPath: "\(directory)/\(name)"))
        }
        let file = "\(directory)/cache.tsv"
        ChecksumCache.stamped(["a.txt": 1, "b.txt": 2], in: directory).save(to: file)
        let saved = try #require(FileSystem.info(file)).size
        var largest: UInt64 = 0
        for round in 1...1500 {
            ChecksumCache.append(["a.txt": UInt32(round)], in: directory, to: file)
            largest = max(largest, try #require(FileSystem.info(file)).size)
        }
        let loaded = ChecksumCache.load(from: file)
        #expect(
            loaded.crc(for: "a.txt", info: FileSystem.info("\(directory)/a.txt")!) == 1500,
            "the last line wins"
        )
        #expect(loaded.crc(for: "b.txt", info: FileSystem.info("\(directory)/b.txt")!) == 2, "untouched")
        #expect(largest > saved + 60_000, "appended, not rewritten, at first")
        #expect(largest <= 2 * saved + 65_536 + 200, "rewritten once past twice the base: \(largest) bytes")
        // A cache without the base line (an older agent's) is rewritten at the first append.
        ChecksumCache.stamped(["a.txt": 7], in: directory).save(to: file)
        let text = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").dropFirst()
        try (text.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        ChecksumCache.append(["b.txt": 8], in: directory, to: file)
        #expect(try String(contentsOfFile: file, encoding: .utf8).hasPrefix("# base "))
        #expect(
            ChecksumCache.load(from: file).crc(for: "a.txt", info: FileSystem.info("\(directory)/a.txt")!)
                == 7
        )
    }

    @Test(
        "a large CRC cache is kept parsed between loads, kept current by the agent's writes, read again after others'"
    )
    func checksumCacheKept() throws {
        let directory = TemporaryFiles.directory(prefix: "rbk-crc-kept")
        let file = "\(directory)/cache.tsv"
        try Data("x".utf8).write(to: URL(fileURLWithPath: "\(directory)/sample.txt"))
        let info = try #require(FileSystem.info("\(directory)/sample.txt"))
        var cache = ChecksumCache()
        for index in 0..<ChecksumCacheMemo.minimumEntries {
            cache.record("file\(index)", info: info, crc: UInt32(index))
        }
        cache.save(to: file)
        #expect(ChecksumCacheMemo.cache(for: file)?.count == ChecksumCacheMemo.minimumEntries)
        // The agent's own append: the kept cache follows it, and is what the file says.
        ChecksumCache.append(["sample.txt": 99], in: directory, to: file)
        let kept = try #require(ChecksumCacheMemo.cache(for: file))
        #expect(kept.crc(for: "sample.txt", info: info) == 99)
        #expect(kept.crc(for: "file7", info: info) == 7)
        ChecksumCacheMemo.forget(file)
        let parsed = ChecksumCache.load(from: file)
        #expect(parsed.count == kept.count && parsed.crc(for: "sample.txt", info: info) == 99)
        // Another hand appends a line: the kept cache no longer describes the file.
        let handle = try #require(FileHandle(forWritingAtPath: file))
        handle.seekToEndOfFile()
        handle.write(Data("5\t1\t0\t0\t0\t0\t1\tother.txt\n".utf8))
        try handle.close()
        #expect(ChecksumCacheMemo.cache(for: file) == nil)
        #expect(ChecksumCache.load(from: file).count == ChecksumCacheMemo.minimumEntries + 2)
        // Small caches are not kept: they are quick to read.
        var small = ChecksumCache()
        small.record("one", info: info, crc: 1)
        small.save(to: "\(directory)/small.tsv")
        #expect(ChecksumCacheMemo.cache(for: "\(directory)/small.tsv") == nil)
    }

    @Test("the index is known to hold HEAD's tree only while neither changed since the agent committed")
    func indexKnownToHoldHead() throws {
        let work = TemporaryFiles.directory(prefix: "rbk-index-known")
        try Data("a".utf8).write(to: URL(fileURLWithPath: "\(work)/a.txt"))
        let description = { (tag: String) in
            CommitDescription(message: "m", tag: tag, authorName: "a", authorEmail: "a@example.com")
        }
        let repository = try GitRepository(workTree: work)
        #expect(repository.commitMatchingIndex() == nil, "nothing committed by this process yet")
        _ = try repository.commitAll(description("t1"))
        #expect(repository.commitMatchingIndex() != nil)
        // git rewrites the index (a new file staged): no longer known.
        try Data("b".utf8).write(to: URL(fileURLWithPath: "\(work)/b.txt"))
        try Shell.git("add", "b.txt", in: work)
        #expect(repository.commitMatchingIndex() == nil)
        _ = try repository.commitAll(description("t2"))
        #expect(repository.commitMatchingIndex() != nil)
        // HEAD moves by hand, the index untouched: no longer known either.
        try Shell.git("commit", "-q", "--allow-empty", "-m", "by hand", in: work)
        #expect(repository.commitMatchingIndex() == nil)
    }

    @Test("the plan's directories: every parent of every entry, whatever the entries' order")
    func planDirectories() throws {
        // Entries scattered (not grouped by directory), a directory entry before its files, and
        // names whose bytes are not ASCII (a combining accent next to the slash).
        let names = [
            "b/x/1.js", "a/2.js", "b/x/3.js", "a/deep/er/4.js", "b/5.js", "a/deep/6.js", "c/",
            "c/d/", "e\u{301}/f\u{308}/7.js", "e\u{301}/8.js", "top.js", "a/deep/er/9.js",
        ]
        let zip = TemporaryFiles.directory(prefix: "rbk-plan") + "/plan.zip"
        let script = """
            import sys, zipfile
            with zipfile.ZipFile(sys.argv[1], "w") as z:
                for name in sys.argv[2:]:
                    z.writestr(name, "" if name.endswith("/") else name)
            """
        try Shell.run(["python3", "-c", script, zip] + names)
        let plan = try ArchivePlan(archive: try ZipArchive(path: zip), limits: ArchiveLimits())
        #expect(
            plan.directories
                == ["a", "a/deep", "a/deep/er", "b", "b/x", "c", "c/d", "e\u{301}", "e\u{301}/f\u{308}"]
        )
    }
}
