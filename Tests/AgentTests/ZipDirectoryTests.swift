import Foundation
import RollbackArchive
import TestSupport
import Testing

/// `ZipDirectory` reads the central directory as libzip does, for the archives it takes, and
/// leaves every other archive to libzip.
@Suite("ZIP central directory reader")
struct ZipDirectoryTests {
    /// Archives made by Python's `zipfile`, one per kind (see the script).
    static func make(_ kind: String) throws -> String {
        let zip = TemporaryFiles.directory(prefix: "rbk-zipdir") + "/\(kind).zip"
        let script = #"""
            import stat, struct, sys, zipfile
            kind, out = sys.argv[1], sys.argv[2]
            def add(z, name, data=b"x", mode=0o100644, method=zipfile.ZIP_DEFLATED, extra=b"", unix=True):
                info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
                info.create_system = 3 if unix else 0  # 0: MS-DOS, no Unix mode
                if unix:
                    info.external_attr = mode << 16
                info.compress_type = method
                info.extra = extra
                z.writestr(info, data)
            with zipfile.ZipFile(out, "w") as z:
                if kind == "many":  # past 65,535 entries: ZIP64 end records
                    for i in range(70000):
                        add(z, "d%d/f%d.js" % (i % 997, i), b"%d" % i)
                else:
                    add(z, "app/", b"", mode=stat.S_IFDIR | 0o755)
                    add(z, "app/index.js", b"console.log(1)\n" * 100)
                    add(z, "app/run.sh", b"#!/bin/sh\n", mode=0o100755, method=zipfile.ZIP_STORED)
                    add(z, "app/link", b"index.js", mode=stat.S_IFLNK | 0o777)
                    add(z, "caf\u00e9/men\u00fc.txt", b"utf-8, flagged")
                    add(z, "dos.txt", b"made elsewhere", unix=False)
                    add(z, "timed.txt", b"t", extra=struct.pack("<HHB", 0x5455, 1, 1))
                    if kind == "unicode-path":
                        add(z, "plain.txt", b"u", extra=struct.pack("<HHB", 0x7075, 1, 1))
                    if kind == "encrypted":
                        add(z, "secret.txt", b"not really")
                    if kind == "comment":
                        z.comment = b"built by CI"
                    if kind == "comment-with-signature":
                        z.comment = b"PK\x05\x06" + b"\0" * 18 + b" another end record in a comment"
                    if kind == "cp437":
                        add(z, "caf?.txt", b"no UTF-8 flag")
                    if kind == "control-character":  # libzip reads it as CP437: "assets/▲pp.js"
                        add(z, "assets/\x1epp.js", b"found by the fuzzer")
            raw = open(out, "rb").read()
            if kind == "cp437":  # a byte above 0x7F in a name without the UTF-8 flag
                raw = raw.replace(b"caf?.txt", b"caf\x82.txt")
            if kind == "encrypted":  # zipfile clears the flag it is given: set it in the directory
                last = raw.rindex(b"PK\x01\x02")
                raw = raw[: last + 8] + bytes([raw[last + 8] | 1]) + raw[last + 9 :]
            if kind == "prepended":
                raw = b"#!/bin/sh\nexit 0\n" + raw
            if kind == "truncated-directory":
                end = raw.rindex(b"PK\x05\x06")
                raw = raw[: end - 10] + raw[end:]
            open(out, "wb").write(raw)
            """#
        _ = try Shell.run(["python3", "-c", script, kind, zip])
        return zip
    }

    static func libzipEntries(_ path: String) throws -> [ZipEntry] {
        let archive = try ZipArchive(path: path, checkConsistency: false)
        return try (0..<archive.entryCount).map { (index) throws(ArchiveError) in try archive.entry(at: index)
        }
    }

    @Test(
        "reads every entry as libzip does: names, sizes, CRCs, Unix modes, ZIP64 end records",
        arguments: ["plain", "comment", "many"]
    )
    func readsAsLibzipDoes(_ kind: String) throws {
        let zip = try Self.make(kind)
        let entries = try #require(ZipDirectory.entries(ofArchiveAt: zip))
        #expect(entries == (try Self.libzipEntries(zip)))
        #expect(entries.count == (kind == "many" ? 70000 : 7))
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: zip)))
        #expect(ZipDirectory.entries(in: bytes) == entries)
        if kind == "plain" {
            let modes = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0.unixMode) })
            #expect(modes["app/run.sh"] == 0o100755)
            #expect(modes["app/link"] == 0o120777)
            #expect(modes["dos.txt"] == .some(nil))
            // The plan built from it is the plan built through libzip.
            let archive = try ZipArchive(path: zip)
            let ours = try ArchivePlan(
                entries: entries,
                limits: ArchiveLimits(),
                symlinkTarget: archive.bytes
            )
            let theirs = try ArchivePlan(archive: archive, limits: ArchiveLimits())
            #expect(ours.items.map(\.path) == theirs.items.map(\.path))
            #expect(ours.items.map(\.kind) == theirs.items.map(\.kind))
            #expect(ours.directories == theirs.directories)
        }
    }

    @Test(
        "leaves to libzip what it would guess or what is unusual, and libzip reads what it can",
        arguments: [
            "cp437", "control-character", "unicode-path", "encrypted", "comment-with-signature", "prepended",
            "truncated-directory",
        ]
    )
    func leavesTheRestToLibzip(_ kind: String) throws {
        let zip = try Self.make(kind)
        #expect(ZipDirectory.entries(ofArchiveAt: zip) == nil)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: zip)))
        #expect(ZipDirectory.entries(in: bytes) == nil)
        #expect(ZipDirectory.entries(in: Array(bytes.prefix(21))) == nil)
        if ["cp437", "control-character", "unicode-path", "comment-with-signature"].contains(kind) {
            // libzip's own reading still takes them: the sync goes on, the slower way.
            #expect(try Self.libzipEntries(zip).count >= 7)
        }
    }

    @Test("more entries than the limit: not read here, so libzip's reading reports the count")
    func entryLimit() throws {
        let zip = try Self.make("plain")
        #expect(ZipDirectory.entries(ofArchiveAt: zip, maxEntries: 6) == nil)
        #expect(ZipDirectory.entries(ofArchiveAt: zip, maxEntries: 7)?.count == 7)
    }

    @Test("libzip refuses to read an entry it sees differently from the plan")
    func readChecksTheEntry() throws {
        let zip = try Self.make("plain")
        let entries = try #require(ZipDirectory.entries(ofArchiveAt: zip))
        let archive = try ZipArchive(path: zip)
        let index = try #require(entries.firstIndex { $0.name == "app/index.js" })
        #expect(try archive.bytes(of: entries[index]).count == 1500)
        let real = entries[index]
        let lies = [
            ZipEntry(
                index: real.index,
                name: "app/other.js",
                size: real.size,
                compressedSize: real.compressedSize,
                crc: real.crc,
                unixMode: real.unixMode
            ),
            ZipEntry(
                index: real.index,
                name: real.name,
                size: real.size,
                compressedSize: real.compressedSize,
                crc: real.crc ^ 1,
                unixMode: real.unixMode
            ),
        ]
        // The same name to Swift's `==` (Unicode equivalence), other bytes: another entry to libzip.
        let accented = try #require(entries.first { $0.name == "caf\u{E9}/men\u{FC}.txt" })
        let decomposed = ZipEntry(
            index: accented.index,
            name: "cafe\u{301}/menu\u{308}.txt",
            size: accented.size,
            compressedSize: accented.compressedSize,
            crc: accented.crc,
            unixMode: accented.unixMode
        )
        #expect(decomposed.name == accented.name && Array(decomposed.name.utf8) != Array(accented.name.utf8))
        for lie in lies + [decomposed] {
            #expect {
                _ = try archive.bytes(of: lie)
            } throws: { error in
                "\(error)".contains("differently from the plan")
            }
        }
        #expect(throws: ArchiveError.self) {
            try archive.expectEntryCount(entries.count + 1)
        }
        try archive.expectEntryCount(entries.count)
    }
}
