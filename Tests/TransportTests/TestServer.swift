import Foundation
import Logging
import NIOPosix
import RollbackProtocol
import RollbackTransport

/// A real RPC server on a real Unix socket in a fresh temporary directory, for one test.
struct TestServer {
    static let agentID = "test-agent"
    static let keyring = try! Keyring(keys: [
        try! SigningKey(id: "k1", secret: Array("0123456789abcdef0123456789abcdef".utf8))
    ])
    static let signer = RequestSigner(agentID: agentID, keyring: keyring)

    let directory: String
    let socketPath: String

    /// Runs `body` with a server listening, then stops the server and removes the directory.
    @discardableResult
    static func with<T: Sendable>(
        methods: MethodRegistry,
        configure: (inout RPCServerConfiguration) -> Void = { _ in },
        logger: Logger = Logger(label: "test.server"),
        _ body: (TestServer) async throws -> T
    ) async throws -> T {
        let directory = try makeShortTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = TestServer(directory: directory, socketPath: "\(directory)/agent.sock")
        var configuration = RPCServerConfiguration(socketPath: server.socketPath)
        configure(&configuration)
        let rpcServer = try await RPCServer.bind(
            configuration: configuration,
            verifier: RequestVerifier(agentID: agentID, keyring: keyring),
            methods: methods,
            logger: logger
        )
        let serving = Task { try await rpcServer.serve() }
        do {
            let result = try await body(server)
            serving.cancel()
            try? await serving.value
            return result
        } catch {
            serving.cancel()
            try? await serving.value
            throw error
        }
    }

    @discardableResult
    func connect<T: Sendable>(
        signer: RequestSigner = TestServer.signer,
        _ body: (RPCConnection) async throws -> T
    ) async throws -> T {
        try await RPCConnection.withConnection(socketPath: socketPath, signer: signer, body)
    }

    /// Unix socket paths are limited to 107 bytes, so tests keep theirs short.
    static func makeShortTemporaryDirectory() throws -> String {
        var template = Array("/tmp/rbk-test-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw POSIXError(.EIO)
        }
        return String(cString: made)
    }
}

/// Collects values from concurrent callbacks.
final class Collector<Value: Sendable>: @unchecked Sendable {
    // Guarded by `lock`; @unchecked because NSLock-protected state is not checked by the compiler.
    private let lock = NSLock()
    private var storage: [Value] = []

    func append(_ value: Value) { lock.withLock { storage.append(value) } }
    var values: [Value] { lock.withLock { storage } }
}
