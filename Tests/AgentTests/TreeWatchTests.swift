import Foundation
import Logging
import Testing

@testable import RollbackAgent

/// The watch's listing against the truth: after any mix of changes made on disk, the listing
/// it hands a sync equals a fresh listing of the whole tree, and it got there from the events.
@Suite("Agent tree watch")
struct TreeWatchTests {
    /// What a listing says of one file, comparable.
    static func summary(_ listing: FileSystem.Listing) -> [String: String] {
        listing.files.mapValues {
            "\($0.kind) \($0.size) \($0.mode) \($0.inode) \($0.mtimeSeconds).\($0.mtimeNanoseconds)"
                + " \($0.ctimeSeconds).\($0.ctimeNanoseconds)"
        }
    }

    static func expectSame(_ watched: FileSystem.Listing, _ root: String, _ note: String) throws {
        let truth = try FileSystem.listTreeWithDirectories(root)
        let (got, want) = (summary(watched), summary(truth))
        let wrong = Set(got.keys).union(want.keys).filter { got[$0] != want[$0] }.sorted()
        #expect(wrong.isEmpty, "\(note): files the watch has wrong: \(wrong.prefix(8))")
        #expect(
            watched.directories == truth.directories,
            "\(note): directories differ: \(watched.directories.symmetricDifference(truth.directories).prefix(8))"
        )
    }

    static func write(_ path: String, _ text: String) throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true
        )
        try text.write(toFile: path, atomically: false, encoding: .utf8)
    }

    /// A new tree of 400 files under `app/`, with a `.git` directory; returns its root.
    static func makeTree() throws -> String {
        let root = TemporaryFiles.directory(prefix: "rbk-watch")
        for index in 0..<400 {
            try write("\(root)/app/s\(index % 40)/d\(index % 7)/f\(index).js", "file \(index)\n")
        }
        try FileManager.default.createDirectory(atPath: "\(root)/.git", withIntermediateDirectories: true)
        return root
    }

    @Test("every kind of change between two listings is in the next one, read from the events")
    func changesAreSeen() throws {
        let root = try Self.makeTree()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let watch = TreeWatch(minimumFiles: 1, logger: Logger(label: "test"))
        let first = try watch.listing(projectID: "p", root: root, expectedFiles: 400)
        try Self.expectSame(first, root, "first")
        #expect(watch.counts == .init(listed: 1, refreshed: 0, touchedPaths: 0))

        let fm = FileManager.default
        let changes: [(String, () throws -> Void)] = [
            ("an edit of the same size", { try Self.write("\(root)/app/s1/d1/f1.js", "FILE 1\n") }),
            ("a longer edit", { try Self.write("\(root)/app/s2/d2/f2.js", "file 2, longer now\n") }),
            ("a removal", { try fm.removeItem(atPath: "\(root)/app/s3/d3/f3.js") }),
            (
                "a chmod",
                { try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: "\(root)/app/s4/d4/f4.js") }
            ),
            ("a new file", { try Self.write("\(root)/app/s5/new.js", "new\n") }),
            (
                "a new directory with files",
                {
                    try Self.write("\(root)/fresh/a/b/one.js", "1")
                    try Self.write("\(root)/fresh/a/two.js", "2")
                }
            ),
            (
                "a directory renamed",
                { try fm.moveItem(atPath: "\(root)/app/s6", toPath: "\(root)/app/s6-renamed") }
            ),
            (
                "a file in the renamed directory edited",
                {
                    try Self.write("\(root)/app/s6-renamed/d6/f6.js", "edited after the move\n")
                }
            ),
            ("a directory removed", { try fm.removeItem(atPath: "\(root)/app/s7") }),
            (
                "a file replaced by a symbolic link",
                {
                    try fm.removeItem(atPath: "\(root)/app/s8/d1/f8.js")
                    try fm.createSymbolicLink(atPath: "\(root)/app/s8/d1/f8.js", withDestinationPath: "../d2")
                }
            ),
            (
                "a directory moved out and another in its place",
                {
                    let outside = TemporaryFiles.directory(prefix: "rbk-watch-out")
                    try fm.moveItem(atPath: "\(root)/app/s9", toPath: "\(outside)/s9")
                    try Self.write("\(root)/app/s9/other.js", "other\n")
                    try Self.write("\(outside)/s9/d2/f9.js", "changed outside the tree\n")
                    try fm.removeItem(atPath: outside)
                }
            ),
            (
                "a file renamed",
                {
                    try fm.moveItem(atPath: "\(root)/app/s10/d3/f10.js", toPath: "\(root)/app/s10/d3/f10.ts")
                }
            ),
            (
                "a file replaced by a directory",
                {
                    try fm.removeItem(atPath: "\(root)/app/s11/d4/f11.js")
                    try Self.write("\(root)/app/s11/d4/f11.js/inside.js", "inside\n")
                }
            ),
            (
                "a directory replaced by a file",
                {
                    try fm.removeItem(atPath: "\(root)/app/s12/d5")
                    try Self.write("\(root)/app/s12/d5", "now a file\n")
                }
            ),
            (
                "inside .git (not the tree's)",
                { try Self.write("\(root)/.git/HEAD", "ref: refs/heads/main\n") }
            ),
        ]
        for (note, change) in changes {
            try change()
            let listing = try watch.listing(projectID: "p", root: root, expectedFiles: 400)
            try Self.expectSame(listing, root, note)
        }
        // Each one came from the events; none listed the tree again.
        #expect(watch.counts.listed == 1)
        #expect(watch.counts.refreshed == changes.count)
        #expect(watch.counts.touchedPaths < 200, "\(watch.counts.touchedPaths) paths read again")
    }

    @Test("random changes, round after round: the listing stays the truth")
    func randomChanges() throws {
        let root = try Self.makeTree()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let watch = TreeWatch(minimumFiles: 1, logger: Logger(label: "test"))
        _ = try watch.listing(projectID: "p", root: root, expectedFiles: 400)
        var random = SeededRandom(seed: 0x5EED)
        let fm = FileManager.default
        for round in 0..<30 {
            for _ in 0..<8 {
                let files = try FileSystem.listTreeWithDirectories(root)
                let paths = files.files.keys.sorted()
                let directories = files.directories.sorted()
                let file = paths[Int(random.next() % UInt64(paths.count))]
                let directory = directories[Int(random.next() % UInt64(directories.count))]
                switch random.next() % 6 {
                case 0: try? Self.write("\(root)/\(file)", "round \(round) \(random.next())")
                case 1: try? fm.removeItem(atPath: "\(root)/\(file)")
                case 2: try? Self.write("\(root)/\(directory)/n\(random.next() % 1000)/x.js", "new")
                case 3:
                    try? fm.moveItem(atPath: "\(root)/\(directory)", toPath: "\(root)/\(directory)-m\(round)")
                case 4: try? fm.removeItem(atPath: "\(root)/\(directory)")
                default:
                    try? fm.moveItem(
                        atPath: "\(root)/\(file)",
                        toPath: "\(root)/\(directory)/moved\(round).js"
                    )
                }
            }
            let listing = try watch.listing(projectID: "p", root: root, expectedFiles: 400)
            try Self.expectSame(listing, root, "round \(round)")
        }
        #expect(watch.counts.listed == 1, "the events sufficed every round")
    }

    @Test("a replaced root, an overflowing share of changes or a small tree: the whole tree is listed")
    func fallsBackToListing() throws {
        let root = try Self.makeTree()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let watch = TreeWatch(minimumFiles: 1, logger: Logger(label: "test"))
        _ = try watch.listing(projectID: "p", root: root, expectedFiles: 400)

        // The root exchanged for another directory, as a whole-tree sync does.
        let other = TemporaryFiles.directory(prefix: "rbk-watch-other")
        defer { try? FileManager.default.removeItem(atPath: other) }
        try Self.write("\(other)/only.js", "x")
        try FileSystem.exchange(other, root)
        try Self.expectSame(
            try watch.listing(projectID: "p", root: root, expectedFiles: 400),
            root,
            "exchanged"
        )
        #expect(watch.counts.listed == 2)

        // A new directory, however full, is one touched path: its subtree is read.
        for index in 0..<1500 { try Self.write("\(root)/many/\(index % 30)/f\(index)", "\(index)") }
        try Self.expectSame(try watch.listing(projectID: "p", root: root, expectedFiles: 400), root, "many")
        #expect(watch.counts.listed == 2)
        // More files touched in watched directories than re-reading them saves.
        for index in 0..<1500 { try Self.write("\(root)/many/\(index % 30)/g\(index)", "\(index)") }
        try Self.expectSame(
            try watch.listing(projectID: "p", root: root, expectedFiles: 400),
            root,
            "touched"
        )
        #expect(watch.counts.listed == 3)

        // Below the threshold: listed, not watched.
        let small = TreeWatch(minimumFiles: 10_000, logger: Logger(label: "test"))
        try Self.expectSame(try small.listing(projectID: "p", root: root, expectedFiles: 1501), root, "small")
        #expect(small.watchedProjects == 0)
        #expect(small.counts == .init())
    }
}

/// A small deterministic generator (SplitMix64), so a failing round can be replayed.
struct SeededRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
