import Foundation
import Logging
import NIOCore
import NIOPosix
import RollbackProtocol
import RollbackTransport
import Testing

@Suite("Socket file")
struct SocketFileTests {
    private func bind(_ path: String, mode: mode_t = 0o660) async throws -> RPCServer {
        try await RPCServer.bind(
            configuration: RPCServerConfiguration(socketPath: path, socketMode: mode),
            verifier: RequestVerifier(agentID: TestServer.agentID, keyring: TestServer.keyring),
            methods: RoundTripTests.streamingMethods(),
            logger: Logger(label: "test")
        )
    }

    @Test("the socket is published with the configured mode and no leftovers")
    func permissions() async throws {
        let directory = try TestServer.makeShortTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/a.sock"
        let server = try await bind(path, mode: 0o600)
        let serving = Task { try await server.serve() }
        var info = stat()
        #expect(lstat(path, &info) == 0)
        #expect(info.st_mode & S_IFMT == S_IFSOCK)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["a.sock"])
        serving.cancel()
        try? await serving.value
        // Stopping removes the socket file it published.
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test("a stale socket file is probed and replaced")
    func staleSocketReplaced() async throws {
        let directory = try TestServer.makeShortTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/a.sock"
        // Leave a socket file nobody listens on, as a crashed agent would.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        let bound = try SocketAddress(unixDomainSocketPath: path).withSockAddr {
            Glibc.bind(fd, $0, socklen_t($1))
        }
        #expect(bound == 0)
        close(fd)
        #expect(FileManager.default.fileExists(atPath: path))
        let server = try await bind(path)
        let serving = Task { try await server.serve() }
        let health = try await RPCConnection.withConnection(socketPath: path, signer: TestServer.signer) {
            try await $0.call(AgentHealth.self, EmptyParams())
        }
        #expect(health.status == "ok")
        serving.cancel()
        try? await serving.value
    }

    @Test("a live socket is never replaced, and neither is a file that is not a socket")
    func liveSocketKept() async throws {
        let directory = try TestServer.makeShortTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/a.sock"
        let first = try await bind(path)
        let serving = Task { try await first.serve() }
        await #expect(throws: TransportError.socketInUse(path: path)) { try await bind(path) }
        serving.cancel()
        try? await serving.value

        let plain = "\(directory)/plain"
        _ = FileManager.default.createFile(atPath: plain, contents: Data("keep me".utf8))
        await #expect(throws: TransportError.pathIsNotASocket(path: plain)) { try await bind(plain) }
        #expect(try String(contentsOfFile: plain, encoding: .utf8) == "keep me")

        await #expect(throws: TransportError.socketDirectoryMissing(path: "\(directory)/missing")) {
            try await bind("\(directory)/missing/a.sock")
        }
    }
}
