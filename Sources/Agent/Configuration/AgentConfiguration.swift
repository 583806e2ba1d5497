import Foundation
import RollbackArchive
import RollbackProtocol
public import RollbackRuntime

/// Everything `rollback-agent` can be configured with. Read by `ConfigurationLoader` from a
/// JSON file, then `ROLLBACK_AGENT_*` environment variables, then flags; later sources win.
/// Every field has a default (`keyringFile` and `workRoot` have conventional defaults that
/// must exist).
public struct AgentConfiguration: Configurable, Codable, Equatable {
    public static let environmentPrefix = "ROLLBACK_AGENT"
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
    /// A working directory of at least this many files is watched (inotify) between syncs, so a
    /// sync reads again only what changed in it instead of every file; 0: never.
    public var watchTreesFromFiles: Int = 20_000
    public var maxFrameBytes: Int = FrameLimits.defaultMaxBodyLength
    /// A frame must be complete this long after its first byte (`frame_timeout` otherwise).
    public var frameTimeoutSeconds: Int = 30
    /// Connections open at once; one more is refused (`too_many_connections`).
    public var maxConnections: Int = 512
    public var gitAuthorName: String = "Rollback Agent"
    public var gitAuthorEmail: String = "rollback-agent@localhost"
    /// trace, debug, info, notice, warning, error, critical
    public var logLevel: String = "info"
    /// `text` or `json` (one object per line).
    public var logFormat: LogFormat = .text
    /// Where `/metrics` (Prometheus text) is served: `127.0.0.1:9464`, `unix:/path`, or empty
    /// for off (the default).
    public var metricsListen: String = ""
    /// OTLP/HTTP collector for this process's spans (`http://127.0.0.1:4318`); empty: off.
    public var tracesEndpoint: String = ""
    /// `http/protobuf` or `http/json`.
    public var tracesProtocol: String = "http/protobuf"

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
        "watchTreesFromFiles", "maxFrameBytes", "frameTimeoutSeconds", "maxConnections",
        "gitAuthorName", "gitAuthorEmail", "logLevel", "logFormat", "metricsListen", "tracesEndpoint",
        "tracesProtocol",
    ]

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
        case "watchTreesFromFiles":
            watchTreesFromFiles = try ConfigurationError.zeroOrMore(
                text,
                field: field,
                zeroMeans: "never watch"
            )
        case "maxFrameBytes": maxFrameBytes = try integer(Int.self)
        case "frameTimeoutSeconds": frameTimeoutSeconds = try integer(Int.self)
        case "maxConnections": maxConnections = try integer(Int.self)
        case "gitAuthorName": gitAuthorName = text
        case "gitAuthorEmail": gitAuthorEmail = text
        case "logLevel":
            try LogLevelRule.check(text)
            logLevel = text
        case "logFormat": logFormat = try LogFormat.parse(text)
        case "tracesEndpoint": tracesEndpoint = try TracingRules.endpoint(text)
        case "tracesProtocol": tracesProtocol = try TracingRules.protocolName(text)
        case "metricsListen":
            _ = try MetricsListenAddress.parse(text)
            metricsListen = text
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
        try LogLevelRule.check(logLevel)
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
