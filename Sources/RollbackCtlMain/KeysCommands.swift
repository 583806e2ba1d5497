import ArgumentParser
import Foundation
import RollbackClient
import RollbackProtocol
import RollbackRuntime

/// `rollbackctl keys`: keys for the broker's keyring.
struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make keys for the broker's keyring.",
        subcommands: [Create.self]
    )

    /// An operator key's role (the broker's `Role`; kept as text here so that rollbackctl does
    /// not link the broker).
    enum RoleName: String, ExpressibleByArgument, CaseIterable {
        case viewer, `operator`, admin
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Make an operator key: a key file for the operator, and the entry for the broker's keyring.",
            discussion: """
                Writes a new 32-byte key to --out (mode 600), the file the operator gives \
                rollbackctl as --broker-keyring (ROLLBACK_BROKER_KEYRING). Prints the entry to \
                add to the "keys" of the broker's keyring file; then send the broker SIGHUP \
                (systemctl reload rollback-broker) and the key works, without a restart. To \
                revoke it, remove the entry and send SIGHUP again.

                Roles: viewer (reads projects, history, jobs, events), operator (also rolls \
                back, previews, cancels, freezes), admin (also webhooks and the audit log). \
                Whatever userId a request names, the broker records the key's actor.

                Example:
                  rollbackctl keys create --actor alice --role operator --project 'shop-*' \\
                    --out ~/.config/rollback/keyring.json
                """
        )

        @Option(help: "Who the key belongs to: recorded as the actor of everything it signs.")
        var actor: String

        @Option(help: "viewer, operator or admin.")
        var role: RoleName

        @Option(
            name: .customLong("project"),
            help: "Limit the key to projects matching this pattern (* matches any run; repeatable)."
        )
        var projects: [String] = []

        @Option(help: "The key id (default: <actor>-<role>-<date>).")
        var id: String?

        @Option(help: "Where to write the operator's key file (default: ./<key id>.json; never overwritten).")
        var out: String?

        @Flag(help: "Print the result as JSON.")
        var json = false

        func validate() throws {
            for (name, value) in [("--actor", actor), ("--id", id ?? "k")]
                + projects.map({ ("--project", $0) })
            {
                let allowed = value.utf8.allSatisfy {
                    switch $0 {
                    case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                        UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"),
                        UInt8(ascii: "~"), UInt8(ascii: "-"):
                        true
                    case UInt8(ascii: "*"): name == "--project"
                    default: false
                    }
                }
                guard allowed, (1...128).contains(value.utf8.count) else {
                    throw ValidationError(
                        "\(name) must be 1–128 characters from A–Z a–z 0–9 . _ ~ -, got \"\(value)\""
                    )
                }
            }
        }

        struct Created: Encodable {
            var keyFile: String
            var entry: [String: JSONValue]
        }

        func run() async throws {
            try await reportingFailures {
                let stamp = ISO8601DateFormatter.string(
                    from: Date(),
                    timeZone: TimeZone(identifier: "UTC")!,
                    formatOptions: [.withYear, .withMonth, .withDay]
                ).replacingOccurrences(of: "-", with: "")
                let keyID = id ?? "\(actor)-\(role.rawValue)-\(stamp)"
                let path = out ?? "\(keyID).json"
                var secret = [UInt8](repeating: 0, count: 32)
                var generator = SystemRandomNumberGenerator()
                for index in secret.indices { secret[index] = generator.next() }
                let encoded = Data(secret).base64EncodedString()
                let keyFile = #"{"keys":[{"id":"\#(keyID)","secret":"\#(encoded)"}]}"# + "\n"
                let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
                guard fd >= 0 else {
                    throw CommandFailure(
                        code: CommandFailure.failed,
                        message: "cannot create \(path): \(String(cString: strerror(errno)))"
                            + (errno == EEXIST ? " (a key file is never overwritten; choose --out)" : "")
                    )
                }
                let written = keyFile.utf8.withContiguousStorageIfAvailable {
                    write(fd, $0.baseAddress, $0.count)
                }
                guard written == keyFile.utf8.count, fsync(fd) == 0, close(fd) == 0 else {
                    throw CommandFailure(code: CommandFailure.failed, message: "cannot write \(path)")
                }
                var entry: [String: JSONValue] = [
                    "id": .string(keyID), "secret": .string(encoded), "kind": .string("operator"),
                    "actor": .string(actor), "role": .string(role.rawValue),
                ]
                if !projects.isEmpty { entry["projects"] = .array(projects.map { .string($0) }) }
                let created = Created(keyFile: path, entry: entry)
                if json {
                    Output.write(try Output.jsonText(created))
                } else {
                    Output.write(
                        """
                        wrote \(path) (mode 600): give it to \(actor) as --broker-keyring.
                        Add this entry to "keys" in the broker's keyring file, then send the broker SIGHUP:
                        \(try Output.jsonLine(entry))
                        """
                    )
                }
            }
        }
    }
}

/// `rollbackctl console`: a one-time sign-in link for the broker's web console.
struct Console: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a one-time sign-in link for the broker's web console (operator keys).",
        discussion: """
            The link carries your key id, an expiry and a nonce, signed with your key (which \
            never leaves this machine). Opening it once gives the browser a session of your key's \
            actor and role (8 hours, HttpOnly cookie); a second use is refused. Viewers see the \
            pages, operators also the buttons (roll back, preview, cancel, freeze).

            Example:
              rollbackctl console --broker-url https://rollback.internal:8443 \\
                --broker-keyring ~/.config/rollback/keyring.json
            """
    )

    @OptionGroup var broker: BrokerOptions

    @Option(help: "How long the link stays valid, in seconds (at most 600).")
    var validFor: Int = 120

    func validate() throws {
        guard (10...Int(ConsoleLoginToken.maxLifetimeSeconds)).contains(validFor) else {
            throw ValidationError("--valid-for must be 10–\(ConsoleLoginToken.maxLifetimeSeconds) seconds")
        }
    }

    func run() async throws {
        try await reportingFailures {
            let client = try broker.client()
            let key: SigningKey
            do {
                key = try KeyringFile.load(broker.keyring).activeKey
            } catch {
                throw CommandFailure(code: CommandFailure.usage, message: "\(error)")
            }
            let token = ConsoleLoginToken.make(key: key, expires: UnixTime.now() + Int64(validFor))
            let link = "\(client.baseURL)/console/login?token=\(token)"
            if broker.json {
                Output.write(try Output.jsonText(["url": link, "keyId": key.id]))
            } else {
                Output.write(link)
            }
        }
    }
}
