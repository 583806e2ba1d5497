import Foundation
import RollbackFuzzChecks
import Testing

/// The fuzzers' checks over their seed corpus (`Fuzz/seeds.py`, made from `spec/vectors` and the
/// hostile archives) and over every input a fuzzer ever crashed on (`Fuzz/regressions/<target>/`),
/// uninstrumented, in the ordinary suite. A property that fails traps, and the test run fails.
@Suite struct FuzzCheckTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    /// The seed corpus, written by the generator the fuzz runs use.
    static func seeds() throws -> String {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent(
            "fuzz-seeds-\(UUID().uuidString)"
        ).path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "\(root)/Fuzz/seeds.py", out]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return out
    }

    static func inputs(in directory: String) -> [(name: String, bytes: [UInt8])] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.sorted().compactMap { name in
            FileManager.default.contents(atPath: "\(directory)/\(name)").map { (name, [UInt8]($0)) }
        }
    }

    @Test(arguments: FuzzTarget.allCases)
    func seedsHoldEveryProperty(_ target: FuzzTarget) throws {
        let corpus = try Self.seeds()
        defer { try? FileManager.default.removeItem(atPath: corpus) }
        let seeds = Self.inputs(in: "\(corpus)/\(target.rawValue)")
        #expect(seeds.count >= 5)
        let accepted = seeds.filter { target.run($0.bytes) }.map(\.name)
        // The good seeds reach the code behind the checks; the hostile ones are refused early.
        switch target {
        case .frames: #expect(accepted.count >= 5)
        case .messages:
            #expect(accepted.contains("signed-00") && !accepted.contains { $0.hasPrefix("forged") })
        case .bodies: #expect(accepted.count == seeds.count)
        case .archive: #expect(accepted == ["good"])
        }
    }

    @Test(arguments: FuzzTarget.allCases)
    func savedCrashesStayFixed(_ target: FuzzTarget) {
        for input in Self.inputs(in: "\(Self.root)/Fuzz/regressions/\(target.rawValue)") {
            target.run(input.bytes)
        }
    }
}
