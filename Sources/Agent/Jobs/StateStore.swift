import Foundation
import RollbackProtocol

/// The agent's durable state under its state directory:
///
/// ```
/// jobs/<jobID>.json       one record per job (params, state, phase, result or error)
/// epochs.json             highest epoch seen per project
/// journal/<project>.json  an in-progress swap, for crash recovery
/// cleanup/<project>       the post-answer clean-up is writing the project's git index
/// crc/<project>.tsv       CRC-32 and stat data of the files the last sync left
/// cache/<sha256>.zip      verified artifacts
/// tmp/                    downloads in progress
/// ```
///
/// Every file is replaced atomically (write to a temporary name, fsync, rename), so a crash
/// leaves either the old or the new version. Blocking; called from the job actor, whose work is
/// small and rare (phase changes), or from a thread pool.
struct StateStore: Sendable {
    let root: String
    var jobsDirectory: String { "\(root)/jobs" }
    var journalDirectory: String { "\(root)/journal" }
    var cacheDirectory: String { "\(root)/cache" }
    var temporaryDirectory: String { "\(root)/tmp" }
    var checksumDirectory: String { "\(root)/crc" }
    var cleanupDirectory: String { "\(root)/cleanup" }

    /// Where the CRC cache of a project's working directory lives.
    func checksumFile(projectID: String) -> String { "\(checksumDirectory)/\(projectID).tsv" }
    private var epochsFile: String { "\(root)/epochs.json" }

    init(root: String) throws {
        self.root = root
        for directory in [
            root, "\(root)/jobs", "\(root)/journal", "\(root)/cache", "\(root)/tmp", "\(root)/crc",
            "\(root)/cleanup",
        ] {
            try FileSystem.makeDirectories(directory, mode: 0o700)
        }
    }

    // MARK: Jobs

    /// - Parameter durable: fsync before the rename. Progress updates skip it: losing one to
    ///   a power cut only makes `job.status` report an earlier phase.
    func saveJob(_ record: JobRecord, durable: Bool = true) throws {
        try write(record, to: "\(jobsDirectory)/\(record.params.jobID).json", durable: durable)
    }

    func loadJob(_ jobID: String) -> JobRecord? {
        read(JobRecord.self, from: "\(jobsDirectory)/\(jobID).json")
    }

    func allJobs() -> [JobRecord] {
        ((try? FileSystem.listDirectory(jobsDirectory)) ?? []).compactMap { name in
            name.hasSuffix(".json") ? read(JobRecord.self, from: "\(jobsDirectory)/\(name)") : nil
        }
    }

    // MARK: Epochs

    func epochs() -> [String: Int64] {
        read([String: Int64].self, from: epochsFile) ?? [:]
    }

    func saveEpochs(_ epochs: [String: Int64]) throws {
        try write(epochs, to: epochsFile)
    }

    // MARK: Swap journal

    func saveJournal(_ entry: SwapJournal) throws {
        try write(entry, to: "\(journalDirectory)/\(entry.projectID).json")
    }

    func removeJournal(projectID: String) {
        unlink("\(journalDirectory)/\(projectID).json")
    }

    func journals() -> [SwapJournal] {
        ((try? FileSystem.listDirectory(journalDirectory)) ?? []).compactMap { name in
            name.hasSuffix(".json") ? read(SwapJournal.self, from: "\(journalDirectory)/\(name)") : nil
        }
    }

    /// The marker agents before 0.2 kept while their clean-up wrote a project's git index after
    /// the answer. Today's clean-up never touches `.git`; recovery still honours a marker an
    /// older agent left when it was killed, so an upgrade after such a crash recovers.
    func cleanupMarker(projectID: String) -> String { "\(cleanupDirectory)/\(projectID)" }

    /// Projects whose clean-up was interrupted (their markers are still there).
    func interruptedCleanups() -> [String] {
        (try? FileSystem.listDirectory(cleanupDirectory)) ?? []
    }

    /// Removes temporary downloads left by an earlier run.
    func cleanTemporaryFiles() {
        for name in (try? FileSystem.listDirectory(temporaryDirectory)) ?? [] {
            try? FileSystem.removeTree("\(temporaryDirectory)/\(name)")
        }
    }

    // MARK: Atomic files

    private func write(_ value: some Encodable, to path: String, durable: Bool = true) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(value)
        let temporary = "\(path).tmp"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileSystem.Failure(call: "open", path: temporary, code: errno) }
        let ok = data.withUnsafeBytes { raw in Glibc.write(fd, raw.baseAddress, raw.count) == raw.count }
        let synced = !durable || fsync(fd) == 0
        close(fd)
        guard ok, synced else { throw FileSystem.Failure(call: "write", path: temporary, code: errno) }
        try FileSystem.rename(temporary, path)
    }

    private func read<T: Decodable>(_ type: T.Type, from path: String) -> T? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(type, from: data)
    }
}

/// A job as stored on disk and reported by `job.status`.
struct JobRecord: Codable, Sendable {
    var params: WorkdirSync.Params
    var state: JobState
    var phase: SyncPhase
    var percent: Int
    var result: WorkdirSync.Result?
    var error: JobFailure?

    var status: JobStatus.Result {
        JobStatus.Result(
            jobID: params.jobID,
            projectID: params.projectID,
            state: state,
            phase: phase,
            percent: percent,
            result: result,
            error: error
        )
    }
}

/// What is needed to finish or undo a swap after a crash.
struct SwapJournal: Codable, Sendable {
    enum Step: String, Codable, Sendable {
        /// `.git` may be moving into staging; the exchange has not happened. (In place: the
        /// changes may be partly applied.)
        case swapping
        /// The exchange happened; the commit may not have. (In place: every change is applied.)
        case swapped
    }

    var projectID: String
    var jobID: String
    var step: Step
    var workingDirectory: String
    var staging: String
    /// Inode of the staging tree before the exchange: if the working directory has it, the
    /// exchange happened.
    var stagingInode: UInt64
    var commitMessage: String
    var tag: String
    /// Set for an in-place sync: what it changes, so that recovery can undo it (`swapping`) or
    /// finish its commit (`swapped`). Nil for a sync that exchanged whole trees.
    var inPlace: InPlaceChanges? = nil
}
