public import ArgumentParser
import Foundation

/// Runs a root command the way every Rollback program does: `--version` prints the version and
/// the git commit it was built from; a command-line mistake prints argument-parser's message on
/// one line and exits 2 (not 64); an `ExitCode` thrown by the command is kept; any other error is one
/// line, `<program>: <error>`, and exit 1.
public enum CommandMain {
    public static func run<Command: AsyncParsableCommand>(_ command: Command.Type) async -> Never {
        let program = Command.configuration.commandName ?? "rollback"
        do {
            var parsed = try Command.parseAsRoot()
            if var async = parsed as? any AsyncParsableCommand {
                try await async.run()
            } else {
                try parsed.run()
            }
            exit(ExitStatus.success)
        } catch let code as ExitCode {
            exit(code.rawValue)
        } catch {
            let code = Command.exitCode(for: error)
            if code == .success {
                // --help and --version.
                print(Command.fullMessage(for: error))
                exit(ExitStatus.success)
            }
            if code == .validationFailure {
                // One line, like every other error: what was wrong and where the usage is. The
                // full usage block is what --help is for.
                let message =
                    Command.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
                let hint =
                    CommandLine.arguments.dropFirst().first { !$0.hasPrefix("-") }.map { " \($0)" } ?? ""
                FileHandle.standardError.write(
                    Data("\(program): \(message) (see '\(program)\(hint) --help')\n".utf8)
                )
                exit(ExitStatus.usage)
            }
            if error is ConfigurationError {
                FileHandle.standardError.write(Data("\(program): \(error)\n".utf8))
                exit(ExitStatus.usage)
            }
            FileHandle.standardError.write(Data("\(program): \(error)\n".utf8))
            exit(code == .failure ? ExitStatus.failure : code.rawValue)
        }
    }
}
