import Foundation
import TestSupport

/// A Redis server of one test's own (a real `redis-server` process), for tests that flush or
/// stop Redis without disturbing the tests running beside them.
final class PrivateRedis: @unchecked Sendable {
    let port: Int
    let directory: String
    private var process: ChildProcess?

    init() throws {
        directory = NSTemporaryDirectory() + "rollback-redis-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        port = try Self.freePort()
    }

    var url: String { "redis://127.0.0.1:\(port)" }

    /// Starts (or restarts) the server on the same port and waits until it answers.
    func start() async throws {
        process = try ChildProcess(
            "redis-server",
            [
                "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", directory, "--logfile", directory + "/redis.log",
            ]
        )
        let ready = try await eventually { (try? Self.ping(port: self.port)) == true }
        guard ready else { throw HarnessError("private redis on \(port) did not start") }
    }

    /// Kills the server and waits for the process to exit.
    func stop() async throws {
        process?.kill()
        process = nil
    }

    deinit {
        process?.kill()
        try? FileManager.default.removeItem(atPath: directory)
    }

    private static func ping(port: Int) throws -> Bool {
        try Shell.run(["redis-cli", "-p", String(port), "ping"]).contains("PONG")
    }

    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw HarnessError("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
