import CSystemShims
import Dispatch

#if canImport(Glibc)
import Glibc
#endif

/// Thin, throwing wrappers over the POSIX calls the agent uses, each failure naming the call
/// and the path. Blocking: call from a thread pool.
enum FileSystem {
    struct Failure: Error, CustomStringConvertible {
        let call: String
        let path: String
        let code: Int32
        var description: String { "\(call) \(path): \(String(cString: strerror(code)))" }
    }

    enum Kind: Sendable { case file, directory, symlink, other }

    struct Info: Sendable {
        let kind: Kind
        let size: UInt64
        let mode: mode_t
        let inode: ino_t
        let mtimeSeconds: Int
        let mtimeNanoseconds: Int
        let ctimeSeconds: Int
        let ctimeNanoseconds: Int
    }

    static func info(_ path: String) -> Info? {
        status(path).map(Info.init)
    }

    /// `lstat` of `path`, nil when it fails.
    static func status(_ path: String) -> stat? {
        var st = stat()
        return lstat(path, &st) == 0 ? st : nil
    }
}

extension FileSystem.Info {
    init(_ st: stat) {
        let kind: FileSystem.Kind =
            switch st.st_mode & S_IFMT {
            case S_IFREG: .file
            case S_IFDIR: .directory
            case S_IFLNK: .symlink
            default: .other
            }
        self.init(
            kind: kind,
            size: UInt64(st.st_size),
            mode: st.st_mode,
            inode: st.st_ino,
            mtimeSeconds: st.st_mtim.tv_sec,
            mtimeNanoseconds: st.st_mtim.tv_nsec,
            ctimeSeconds: st.st_ctim.tv_sec,
            ctimeNanoseconds: st.st_ctim.tv_nsec
        )
    }
}

extension FileSystem {

    static func exists(_ path: String) -> Bool { info(path) != nil }

    /// Creates an empty file (or leaves an existing one); false when it cannot.
    static func createMarker(_ path: String) -> Bool {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return false }
        close(descriptor)
        return true
    }

    static func makeDirectory(_ path: String, mode: mode_t = 0o755) throws(Failure) {
        if mkdir(path, mode) != 0 && errno != EEXIST { throw Failure(call: "mkdir", path: path, code: errno) }
    }

    /// `makeDirectories`, reporting failure as `error`.
    static func makeDirectories<E: Error>(_ path: String, mode: mode_t, orThrow failure: E) throws(E) {
        do { try makeDirectories(path, mode: mode) } catch { throw failure }
    }

    /// Creates `path` and its missing parents.
    static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws(Failure) {
        if info(path)?.kind == .directory { return }
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            try makeDirectories(String(path[..<slash]), mode: mode)
        }
        try makeDirectory(path, mode: mode)
    }

    /// Writes a new file (never replacing one) from chunks supplied by `produce`.
    static func createFile(
        _ path: String,
        mode: mode_t,
        produce: (_ write: (UnsafeRawBufferPointer) throws(Failure) -> Void) throws -> Void
    ) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw Failure(call: "open", path: path, code: errno) }
        defer { close(fd) }
        try produce { (chunk: UnsafeRawBufferPointer) throws(Failure) in
            var offset = 0
            while offset < chunk.count {
                let written = Glibc.write(fd, chunk.baseAddress! + offset, chunk.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw Failure(call: "write", path: path, code: errno)
                }
                offset += written
            }
        }
        // The mode given to open() is filtered by the umask; set it exactly.
        if fchmod(fd, mode) != 0 { throw Failure(call: "fchmod", path: path, code: errno) }
    }

    /// Reads a file in chunks.
    static func readFile(
        _ path: String,
        chunkSize: Int = 1 << 16,
        _ consume: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(call: "open", path: path, code: errno) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: chunkSize)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, chunkSize) }
            if count < 0 {
                if errno == EINTR { continue }
                throw Failure(call: "read", path: path, code: errno)
            }
            if count == 0 { return }
            try buffer.withUnsafeBytes { try consume(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
    }

    /// Copies a regular file to a new path.
    static func copyFile(_ source: String, to destination: String) throws {
        unlink(destination)
        try createFile(destination, mode: 0o600) { write in
            try readFile(source) { try write($0) }
        }
    }

    static func crc32(ofFile path: String) throws -> UInt32 {
        var crc: UInt32 = 0
        try readFile(path) { chunk in crc = rollback_crc32(crc, chunk.baseAddress, chunk.count) }
        return crc
    }

    static func hardLink(_ from: String, _ to: String) -> Bool { Glibc.link(from, to) == 0 }

    /// Hard-links `from` to `to`, or says why it could not.
    static func link(_ from: String, to: String) throws(Failure) {
        if Glibc.link(from, to) != 0 { throw Failure(call: "link", path: to, code: errno) }
    }

    /// The target of the symlink at `path` (its bytes), nil when it is not one.
    static func linkTarget(_ path: String) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBufferPointer { pointer in
            pointer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: pointer.count) {
                readlink(path, $0, pointer.count)
            }
        }
        return count < 0 ? nil : Array(buffer.prefix(count))
    }

    static func makeSymlink(target: String, at path: String) throws(Failure) {
        if symlink(target, path) != 0 { throw Failure(call: "symlink", path: path, code: errno) }
    }

    static func setMode(_ path: String, _ mode: mode_t) throws(Failure) {
        if chmod(path, mode) != 0 { throw Failure(call: "chmod", path: path, code: errno) }
    }

    static func rename(_ from: String, _ to: String) throws(Failure) {
        if Glibc.rename(from, to) != 0 {
            throw Failure(call: "rename", path: "\(from) -> \(to)", code: errno)
        }
    }

    /// Atomically exchanges two directories (renameat2 RENAME_EXCHANGE).
    static func exchange(_ a: String, _ b: String) throws(Failure) {
        if rollback_exchange_paths(a, b) != 0 {
            throw Failure(call: "renameat2(EXCHANGE)", path: "\(a) <-> \(b)", code: errno)
        }
    }

    /// Flushes the file system holding `path` (once before a swap, for durability on power loss).
    static func syncFileSystem(containing path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = rollback_syncfs(fd)
        close(fd)
    }

    /// Flushes the data of each file at `paths` to disk, several at once so that they share the
    /// file system's journal commits: the cost follows the files, not everything else dirty on
    /// the disk (as `syncfs` would).
    static func syncData(of paths: [String]) {
        let threads = min(8, paths.count)
        guard threads > 0 else { return }
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            for index in stride(from: thread, to: paths.count, by: threads) {
                let fd = open(paths[index], O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { continue }
                _ = fdatasync(fd)
                close(fd)
            }
        }
    }

    /// Removes `path` recursively (no error when it does not exist). Never follows symlinks.
    /// `beforeEach` runs before each directory is emptied (a clean-up uses it to give way).
    static func removeTree(_ path: String, beforeEach: () -> Void = {}) throws(Failure) {
        guard let info = info(path) else { return }
        if info.kind == .directory {
            beforeEach()
            for name in try listDirectory(path) { try removeTree("\(path)/\(name)", beforeEach: beforeEach) }
            if rmdir(path) != 0 && errno != ENOENT { throw Failure(call: "rmdir", path: path, code: errno) }
        } else if unlink(path) != 0 && errno != ENOENT {
            throw Failure(call: "unlink", path: path, code: errno)
        }
    }

    static func listDirectory(_ path: String) throws(Failure) -> [String] {
        guard let dir = opendir(path) else { throw Failure(call: "opendir", path: path, code: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Relative paths of every file and symlink under `root`, skipping `root/.git`.
    static func listTree(_ root: String) throws(Failure) -> [String: Info] {
        try listTreeWithDirectories(root).files
    }

    /// A tree's files and symlinks (with their stat data) and its directories, by relative path.
    typealias Listing = (files: [String: Info], directories: Set<String>)

    /// `listTree`, plus the relative path of every directory under `root` (`.git` skipped).
    /// Each directory is read through its descriptor (`fstatat` on names, not whole paths):
    /// this runs over every file of a project before every sync.
    /// `expectedFiles` sizes the table up front (growing it rehashes every path so far).
    /// With `under` (a relative directory), only that directory's subtree is listed (paths stay
    /// relative to `root`; `under` itself is not among the directories). `entering` is called
    /// with each directory's relative path (`under` first) before its entries are read.
    static func listTreeWithDirectories(
        _ root: String,
        under start: String = "",
        expectedFiles: Int = 0,
        entering: ((String) -> Void)? = nil
    ) throws(Failure) -> Listing {
        var files: [String: Info] = [:]
        files.reserveCapacity(expectedFiles + expectedFiles / 8)
        var directories = Set<String>()
        func walk(_ fd: Int32, _ relative: String) throws(Failure) {
            entering?(relative)
            guard let dir = fdopendir(fd) else {
                let code = errno
                close(fd)
                throw Failure(call: "fdopendir", path: "\(root)/\(relative)", code: code)
            }
            defer { closedir(dir) }
            let descriptor = dirfd(dir)
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                if name == "." || name == ".." || (relative.isEmpty && name == ".git") { continue }
                let child = relative.isEmpty ? name : "\(relative)/\(name)"
                // A directory (as `readdir` says, where the file system says) needs no `fstatat`:
                // it is opened, and nothing of its stat data is kept.
                let isDirectory: Bool
                var info: Info?
                if entry.pointee.d_type == UInt8(DT_DIR) {
                    isDirectory = true
                } else {
                    var st = stat()
                    guard fstatat(descriptor, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
                    info = Info(st)
                    isDirectory = info?.kind == .directory
                }
                if isDirectory {
                    directories.insert(child)
                    let childFD = openat(descriptor, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    guard childFD >= 0 else {
                        throw Failure(call: "openat", path: "\(root)/\(child)", code: errno)
                    }
                    try walk(childFD, child)
                } else {
                    files[child] = info
                }
            }
        }
        let top = start.isEmpty ? root : "\(root)/\(start)"
        // The root may be a symbolic link (an operator's choice); a directory inside it may not.
        let fd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (start.isEmpty ? 0 : O_NOFOLLOW))
        guard fd >= 0 else { throw Failure(call: "open", path: top, code: errno) }
        try walk(fd, start)
        return (files, directories)
    }

    static func freeBytes(_ path: String) -> Int64 {
        var st = statvfs()
        guard statvfs(path, &st) == 0 else { return -1 }
        return Int64(st.f_bavail) * Int64(st.f_frsize)
    }
}
