import Foundation
import RollbackBroker
import Testing

/// Keeps `spec/openapi.yaml` and the broker's routes in step (no services needed).
@Suite("spec/openapi.yaml")
struct OpenAPISpecTests {
    static let specURL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("spec/openapi.yaml")

    /// (METHOD, path) for every operation under `paths:`, read line by line: paths are indented
    /// two spaces, operations four.
    static func specOperations() throws -> Set<String> {
        let text = try String(contentsOf: specURL, encoding: .utf8)
        var operations = Set<String>()
        var inPaths = false
        var path: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" {
                inPaths = true
                continue
            }
            guard inPaths else { continue }
            if !line.hasPrefix(" ") && !line.isEmpty { inPaths = false }
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
                path = String(line.dropFirst(2).dropLast())
            } else if let path, line.hasPrefix("    "), !line.hasPrefix("     "),
                let method = ["get", "post", "put", "patch", "delete"].first(where: { line == "    \($0):" })
            {
                operations.insert("\(method.uppercased()) \(path)")
            }
        }
        return operations
    }

    @Test("every route the broker serves is in the spec, and every operation in the spec is served")
    func routesMatchSpec() throws {
        let served = Set(BrokerAPI.routeList.map { "\($0.method) \($0.path)" })
        let specified = try Self.specOperations()
        #expect(served.count == BrokerAPI.routeList.count, "no route is registered twice")
        #expect(
            served.subtracting(specified).isEmpty,
            "served but not in spec/openapi.yaml: \(served.subtracting(specified).sorted())"
        )
        #expect(
            specified.subtracting(served).isEmpty,
            "in spec/openapi.yaml but not served: \(specified.subtracting(served).sorted())"
        )
        #expect(specified.count >= 10)
    }

    @Test("every error code the broker's sources use is documented in the spec")
    func errorCodesDocumented() throws {
        let spec = try String(contentsOf: Self.specURL, encoding: .utf8)
        let sources = Self.specURL.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/Broker")
        let files =
            FileManager.default.enumerator(atPath: sources.path)?.compactMap { $0 as? String }.filter {
                $0.hasSuffix(".swift")
            } ?? []
        // APIError(.status, "code", …) and the HTTP signature codes.
        let pattern = try NSRegularExpression(pattern: #"APIError\(\s*\.[a-zA-Z]+,\s*"([a-z_]+)""#)
        var codes = Set<String>()
        for file in files {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                codes.insert(String(text[Range(match.range(at: 1), in: text)!]))
            }
        }
        codes.formUnion(["missing_field", "invalid_field", "database_unavailable", "redis_unavailable"])
        codes.subtract(["http_error", "internal_error", "route_not_found", "method_not_allowed"])  // generic
        #expect(codes.count > 15)
        let undocumented = codes.filter { !spec.contains($0) }.sorted()
        #expect(undocumented.isEmpty, "error codes missing from spec/openapi.yaml: \(undocumented)")
    }
}
