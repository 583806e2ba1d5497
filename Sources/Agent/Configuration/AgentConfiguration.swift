import Foundation
import RollbackProtocol

/// Everything `rollback-agent` can be configured with. Read from a JSON file, then from
/// `ROLLBACK_AGENT_*` environment variables, then from flags; later sources win. Every field has
/// a default except those a host must decide (`keyringFile` and `workRoot` have conventional
/// defaults that must exist).
public struct AgentConfiguration: Codable, Sendable, Equatable {
    public var agentID: String = AgentConfiguration.defaultAgentID()
    public var socketPath: String = "/run/rollback/agent.sock"
    /// Octal permission bits of the socket file.
    public var socketMode: String = "0660"
    /// Group name or numeric gid given to the socket file.
    public var socketGroup: String?
    /// Peer uids allowed to connect (besides the file permissions); absent means any.
    public var allowedPeerUIDs: [UInt32]?
    public var keyringFile: String = "/etc/rollback/agent-keyring.json"
    /// One working directory per project lives at `<workRoot>/<projectID>`.
    public var workRoot: String = "/srv/rollback/projects"
    public var stateDirectory: String = "/var/lib/rollback-agent"
    public var maxArtifactBytes: Int64 = 2 << 30
    public var maxUncompressedBytes: UInt64 = 8 << 30
    public var maxEntries: Int = 200_000
    public var maxCompressionRatio: UInt64 = 200
    public var maxConcurrentJobs: Int = 4
    public var artifactCacheBytes: Int64 = 2 << 30
    public var downloadStallSeconds: Int = 30
    public var shutdownGraceSeconds: Int = 60
    public var maxFrameBytes: Int = FrameLimits.defaultMaxBodyLength
    public var gitAuthorName: String = "Rollback Agent"
    public var gitAuthorEmail: String = "rollback-agent@localhost"
    /// trace, debug, info, notice, warning, error, critical
    public var logLevel: String = "info"

    public init() {}

    static func defaultAgentID() -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "agent"
        return host.isEmpty ? "agent" : host
    }

    /// The fields settable by environment and flags, by their JSON names.
    public static let fieldNames = [
        "agentID", "socketPath", "socketMode", "socketGroup", "allowedPeerUIDs", "keyringFile", "workRoot",
        "stateDirectory", "maxArtifactBytes", "maxUncompressedBytes", "maxEntries", "maxCompressionRatio",
        "maxConcurrentJobs", "artifactCacheBytes", "downloadStallSeconds", "shutdownGraceSeconds",
        "maxFrameBytes",
        "gitAuthorName", "gitAuthorEmail", "logLevel",
    ]

    /// `socketPath` → `ROLLBACK_AGENT_SOCKET_PATH`.
    public static func environmentName(of field: String) -> String {
        var name = "ROLLBACK_AGENT_"
        for character in field {
            if character.isUppercase && !name.hasSuffix("_") { name += "_" }
            name += character.uppercased()
        }
        // Acronyms: `agentID` → AGENT_ID, `allowedPeerUIDs` → ALLOWED_PEER_UIDS.
        return name.replacingOccurrences(of: "_U_I_DS", with: "_UIDS").replacingOccurrences(
            of: "_I_D",
            with: "_ID"
        )
    }

    /// Reads a configuration file (JSON). Unknown keys are refused, so a typo is not ignored.
    public static func load(file path: String) throws(ConfigurationError) -> AgentConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(field: "config", message: "cannot read \(path)")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ConfigurationError(field: "config", message: "\(path) is not a JSON object")
        }
        if let unknown = object.keys.sorted().first(where: { !fieldNames.contains($0) }) {
            throw ConfigurationError(field: unknown, message: "unknown field in \(path)")
        }
        var configuration = AgentConfiguration()
        for (key, value) in object {
            // Every field has a textual form (as in the environment); numbers and lists are
            // turned into it so that one parser checks all three sources alike.
            let text: String
            if let string = value as? String {
                text = string
            } else if value is NSNull {
                text = ""
            } else if let data = try? JSONSerialization.data(
                withJSONObject: value,
                options: [.fragmentsAllowed]
            ) {
                text = String(decoding: data, as: UTF8.self)
            } else {
                throw ConfigurationError(field: key, message: "unreadable value in \(path)")
            }
            try configuration.set(key, to: text)
        }
        return configuration
    }

    /// Applies `ROLLBACK_AGENT_*` variables from `environment`.
    public mutating func applyEnvironment(_ environment: [String: String]) throws(ConfigurationError) {
        for field in Self.fieldNames {
            if let value = environment[Self.environmentName(of: field)] { try set(field, to: value) }
        }
    }

    /// Sets one field from its textual form (as in the environment or a flag).
    public mutating func set(_ field: String, to text: String) throws(ConfigurationError) {
        func integer<T: FixedWidthInteger>(_ type: T.Type) throws(ConfigurationError) -> T {
            guard let value = T(text.trimmingCharacters(in: .whitespaces)), value > 0 else {
                throw ConfigurationError(field: field, message: "must be a positive integer, got \"\(text)\"")
            }
            return value
        }
        switch field {
        case "agentID": agentID = text
        case "socketPath": socketPath = text
        case "socketMode": socketMode = text
        case "socketGroup": socketGroup = text.isEmpty ? nil : text
        case "allowedPeerUIDs":
            let trimmed = text.trimmingCharacters(in: CharacterSet(charactersIn: "[] "))
            if trimmed.isEmpty {
                allowedPeerUIDs = nil
            } else {
                var uids: [UInt32] = []
                for part in trimmed.split(separator: ",") {
                    guard let uid = UInt32(part.trimmingCharacters(in: .whitespaces)) else {
                        throw ConfigurationError(
                            field: field,
                            message: "must be a comma-separated list of uids, got \"\(text)\""
                        )
                    }
                    uids.append(uid)
                }
                allowedPeerUIDs = uids
            }
        case "keyringFile": keyringFile = text
        case "workRoot": workRoot = text
        case "stateDirectory": stateDirectory = text
        case "maxArtifactBytes": maxArtifactBytes = try integer(Int64.self)
        case "maxUncompressedBytes": maxUncompressedBytes = try integer(UInt64.self)
        case "maxEntries": maxEntries = try integer(Int.self)
        case "maxCompressionRatio": maxCompressionRatio = try integer(UInt64.self)
        case "maxConcurrentJobs": maxConcurrentJobs = try integer(Int.self)
        case "artifactCacheBytes": artifactCacheBytes = try integer(Int64.self)
        case "downloadStallSeconds": downloadStallSeconds = try integer(Int.self)
        case "shutdownGraceSeconds": shutdownGraceSeconds = try integer(Int.self)
        case "maxFrameBytes": maxFrameBytes = try integer(Int.self)
        case "gitAuthorName": gitAuthorName = text
        case "gitAuthorEmail": gitAuthorEmail = text
        case "logLevel": logLevel = text
        default: throw ConfigurationError(field: field, message: "unknown field")
        }
    }

    /// Checks every field; the first problem names its field.
    public func validate() throws(ConfigurationError) {
        guard Identifiers.isValidID(agentID) else {
            throw ConfigurationError(
                field: "agentID",
                message: "must be 1–128 characters from A–Z a–z 0–9 . _ ~ -"
            )
        }
        guard let mode = UInt32(socketMode, radix: 8), mode <= 0o777 else {
            throw ConfigurationError(
                field: "socketMode",
                message: "must be octal permission bits such as 0660, got \"\(socketMode)\""
            )
        }
        guard mode & 0o002 == 0 else {
            throw ConfigurationError(
                field: "socketMode",
                message: "must not let every user write to the socket (\(socketMode))"
            )
        }
        guard socketPath.hasPrefix("/"), socketPath.utf8.count < 100 else {
            throw ConfigurationError(
                field: "socketPath",
                message: "must be an absolute path shorter than 100 bytes"
            )
        }
        for (field, path) in [("workRoot", workRoot), ("stateDirectory", stateDirectory)]
        where !path.hasPrefix("/") {
            throw ConfigurationError(field: field, message: "must be an absolute path, got \"\(path)\"")
        }
        guard FileSystem.info(workRoot)?.kind == .directory else {
            throw ConfigurationError(field: "workRoot", message: "\(workRoot) is not a directory")
        }
        guard (1...FrameLimits.hardMaxBodyLength).contains(maxFrameBytes) else {
            throw ConfigurationError(
                field: "maxFrameBytes",
                message: "must be at most \(FrameLimits.hardMaxBodyLength)"
            )
        }
        guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(logLevel) else {
            throw ConfigurationError(
                field: "logLevel",
                message: "must be one of trace, debug, info, notice, warning, error, critical"
            )
        }
    }

    var socketModeBits: mode_t { mode_t(UInt32(socketMode, radix: 8) ?? 0o660) }

    /// The socket group as a gid (numeric, or looked up by name).
    func socketGroupID() throws(ConfigurationError) -> gid_t? {
        guard let socketGroup else { return nil }
        if let gid = gid_t(socketGroup) { return gid }
        guard let entry = getgrnam(socketGroup) else {
            throw ConfigurationError(field: "socketGroup", message: "no group named \(socketGroup)")
        }
        return entry.pointee.gr_gid
    }

    var syncSettings: SyncSettings {
        SyncSettings(
            workRoot: workRoot,
            archiveLimits: ArchiveLimits(
                maxEntries: maxEntries,
                maxUncompressedBytes: maxUncompressedBytes,
                maxCompressionRatio: maxCompressionRatio
            ),
            maxArtifactBytes: maxArtifactBytes,
            gitAuthorName: gitAuthorName,
            gitAuthorEmail: gitAuthorEmail
        )
    }
}

/// A configuration problem: which field, and what is wrong with it.
public struct ConfigurationError: Error, Equatable, CustomStringConvertible {
    public let field: String
    public let message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "configuration: \(field): \(message)" }
}
