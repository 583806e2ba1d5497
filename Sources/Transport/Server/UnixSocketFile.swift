import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Creates a listening Unix socket at a path with no moment at which it is reachable with the
/// wrong permissions, and clears away a stale socket file only after probing it.
///
/// The socket is bound inside a fresh mode-0700 directory beside the final path, given its
/// mode and group there, and then hard-linked into place (`link` refuses to replace anything,
/// so a concurrent server is never clobbered). Until that link exists nobody else can reach it.
enum UnixSocketFile {
    /// Removes `path` if it is a socket nobody listens on; throws if it is live or not a socket.
    static func clearStale(path: String, group: any EventLoopGroup) async throws {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return }
            throw TransportError.systemCall("lstat", errno: errno, path: path)
        }
        guard info.st_mode & S_IFMT == S_IFSOCK else { throw TransportError.pathIsNotASocket(path: path) }
        do {
            let channel = try await ClientBootstrap(group: group).connect(unixDomainSocketPath: path).get()
            try? await channel.close()
            throw TransportError.socketInUse(path: path)
        } catch let error as TransportError {
            throw error
        } catch {
            // Refused (or vanished): nobody listens, so the file is stale.
            guard isConnectionRefused(error) else { throw error }
        }
        if unlink(path) != 0 && errno != ENOENT {
            throw TransportError.systemCall("unlink", errno: errno, path: path)
        }
    }

    /// A private directory beside `path` in which to bind before publishing the socket.
    static func makePrivateDirectory(beside path: String) throws -> String {
        let parent = directory(of: path)
        var isDirectory = stat()
        guard stat(parent, &isDirectory) == 0, isDirectory.st_mode & S_IFMT == S_IFDIR else {
            throw TransportError.socketDirectoryMissing(path: parent)
        }
        var template = Array("\(parent)/.rbk-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw TransportError.systemCall("mkdtemp", errno: errno, path: parent)
        }
        return String(cString: made)
    }

    /// Sets mode and group on the privately bound socket, then links it to `path`.
    /// Returns the inode of the published socket, to recognise it when cleaning up.
    static func publish(
        boundAt privatePath: String,
        to path: String,
        mode: mode_t,
        group: gid_t?
    ) throws -> ino_t {
        if chmod(privatePath, mode) != 0 {
            throw TransportError.systemCall("chmod", errno: errno, path: privatePath)
        }
        if let group, chown(privatePath, uid_t.max, group) != 0 {
            throw TransportError.systemCall("chown", errno: errno, path: privatePath)
        }
        if link(privatePath, path) != 0 {
            if errno == EEXIST { throw TransportError.socketInUse(path: path) }
            throw TransportError.systemCall("link", errno: errno, path: path)
        }
        var info = stat()
        guard lstat(path, &info) == 0 else {
            throw TransportError.systemCall("lstat", errno: errno, path: path)
        }
        return info.st_ino
    }

    /// Removes the private directory and the socket entry inside it.
    static func removePrivateDirectory(_ directory: String, socketName: String) {
        unlink("\(directory)/\(socketName)")
        rmdir(directory)
    }

    /// Unlinks `path` only if it is still the socket this process published.
    static func remove(path: String, inode: ino_t) {
        var info = stat()
        if lstat(path, &info) == 0, info.st_ino == inode {
            unlink(path)
        }
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func isConnectionRefused(_ error: any Error) -> Bool {
        if let ioError = error as? IOError {
            return ioError.errnoCode == ECONNREFUSED || ioError.errnoCode == ENOENT
        }
        if let connectionError = error as? NIOConnectionError {
            return connectionError.connectionErrors.allSatisfy { isConnectionRefused($0.error) }
        }
        return false
    }
}
