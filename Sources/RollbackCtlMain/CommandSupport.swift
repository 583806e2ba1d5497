import ArgumentParser
import Foundation

/// A failure reported as one line on standard error with a documented exit code.
struct CommandFailure: Error, CustomStringConvertible {
    let code: Int32
    let message: String
    var description: String { message }

    /// Exit codes, as `rollbackctl --help` documents them.
    static let failed: Int32 = 1
    static let usage: Int32 = 2
    static let unreachable: Int32 = 3
    static let rollbackFailed: Int32 = 4
    static let rollbackCanceled: Int32 = 5
}

extension AsyncParsableCommand {
    /// Runs `body`, printing a `CommandFailure` as one line and exiting with its code.
    func reportingFailures(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let failure as CommandFailure {
            FileHandle.standardError.write(Data("rollbackctl: \(failure.message)\n".utf8))
            throw ExitCode(failure.code)
        }
    }
}

/// Prints answers: JSON (pretty, sorted keys; one document per command) with `--json`, a human
/// line otherwise.
enum Output {
    static func print<T: Encodable>(_ value: T, json: Bool, human: (T) -> String) throws {
        write(json ? try jsonText(value) : human(value))
    }

    /// Writes `text` and a newline (unless `newline` is false) to standard output at once,
    /// unbuffered, so that progress and answers never come out of order.
    /// A reader that went away (`rollbackctl events … | head`) ends the command quietly, as
    /// it would any Unix tool.
    static func write(_ text: String, newline: Bool = true) {
        var bytes = Array((newline ? text + "\n" : text).utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Foundation.write(STDOUT_FILENO, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                exit(0)
            }
            bytes = bytes.dropFirst(written)
        }
    }

    /// One JSON object on one line (for streams of events).
    static func jsonLine<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func jsonText<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Whether standard output is a terminal (progress bars) or a pipe or file (plain lines).
    static var isTerminal: Bool { isatty(STDOUT_FILENO) == 1 }
}
