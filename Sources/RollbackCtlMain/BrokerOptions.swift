import ArgumentParser
import Foundation
import RollbackClient

/// Options every broker command shares: where the broker is, the key to sign with, JSON output.
struct BrokerOptions: ParsableArguments {
    @Option(
        name: .customLong("broker-url"),
        help: "The broker: http://host:port or https://host:port (env ROLLBACK_BROKER_URL)."
    )
    var brokerURL: String =
        ProcessInfo.processInfo.environment["ROLLBACK_BROKER_URL"] ?? "http://127.0.0.1:8080"

    @Option(
        name: .customLong("broker-keyring"),
        help:
            "Keyring file with your signing key, mode 600 (env ROLLBACK_BROKER_KEYRING)."
    )
    var keyring: String =
        ProcessInfo.processInfo.environment["ROLLBACK_BROKER_KEYRING"] ?? "/etc/rollback/client-keyring.json"

    @Option(
        name: .customLong("broker-ca-file"),
        help:
            "For an https:// broker: a PEM file of the CA certificates to trust instead of the system's (env ROLLBACK_BROKER_CA_FILE)."
    )
    var caFileOption: String = ProcessInfo.processInfo.environment["ROLLBACK_BROKER_CA_FILE"] ?? ""

    /// The CA file, if one was given.
    var caFile: String? { caFileOption.isEmpty ? nil : caFileOption }

    @Option(
        name: .customLong("broker-timeout"),
        help: ArgumentHelp(
            "Seconds to wait for the broker's answer to one request (env ROLLBACK_BROKER_TIMEOUT).",
            discussion:
                "Past it the command fails with exit code 3 and does not repeat the request: the broker may still be acting on it. Following events (--wait, events --follow) has no overall limit; a stream silent for 45 s (three missed keep-alives) is reopened where it left off."
        )
    )
    var timeoutSeconds: Int = Int(ProcessInfo.processInfo.environment["ROLLBACK_BROKER_TIMEOUT"] ?? "60") ?? 0

    @Flag(name: .long, help: "Print the answer as JSON.")
    var json = false

    func validate() throws {
        guard timeoutSeconds > 0 else {
            // 0 also stands for a ROLLBACK_BROKER_TIMEOUT that is not a number: refused, not
            // quietly replaced by the default.
            throw ValidationError(
                "--broker-timeout (or ROLLBACK_BROKER_TIMEOUT) must be a positive whole number of seconds"
            )
        }
    }

    func client() throws -> BrokerClient {
        do {
            var client = try BrokerClient(url: brokerURL, keyringFile: keyring, caFile: caFile)
            client.requestTimeout = .seconds(timeoutSeconds)
            return client
        } catch let error as BrokerError {
            throw CommandFailure(code: CommandFailure.usage, message: "\(error.code): \(error.message)")
        } catch {
            throw CommandFailure(code: CommandFailure.usage, message: "keyring \(keyring): \(error)")
        }
    }

    /// Runs `body` with a client, turning a `BrokerError` into one line and its exit code.
    func run<T>(_ body: (BrokerClient) async throws -> T) async throws -> T {
        let client = try client()
        do {
            return try await body(client)
        } catch let error as BrokerError {
            throw Self.failure(error)
        }
    }

    static func failure(_ error: BrokerError) -> CommandFailure {
        let code: Int32 =
            switch (error.status, error.code) {
            case (nil, "invalid_argument"), (nil, "invalid_url"): CommandFailure.usage
            case (nil, _), (503?, _): CommandFailure.unreachable
            default: CommandFailure.failed
            }
        return CommandFailure(code: code, message: "\(error.code): \(error.message)")
    }

    func print<T: Encodable>(_ value: T, human: (T) -> String) throws {
        try Output.print(value, json: json, human: human)
    }
}

/// Who acts: the user a rollback or publish is done for.
struct UserOption: ParsableArguments {
    @Option(name: .long, help: "The user acting (env ROLLBACK_USER, else $USER).")
    var user: String =
        ProcessInfo.processInfo.environment["ROLLBACK_USER"] ?? ProcessInfo.processInfo.environment["USER"]
        ?? "operator"
}
