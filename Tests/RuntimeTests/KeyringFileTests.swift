import Foundation
import RollbackRuntime
import Testing

@Suite("Keyring files: one reader, one permission rule")
struct KeyringFileTests {
    @Test("a keyring readable by group or others is refused, naming the path and the fix")
    func permissions() throws {
        let path = NSTemporaryDirectory() + "keyring-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let secret = Data("0123456789abcdef0123456789abcdef".utf8).base64EncodedString()
        try Data(#"{"keys":[{"id":"k1","secret":"\#(secret)"}]}"#.utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o644)
        #expect {
            try KeyringFile.load(path)
        } throws: {
            ($0 as? KeyringFileError)?.message.contains("chmod 600") == true
        }
        #expect(throws: ConfigurationError.self) { try KeyringFile.load(path, field: "keyringFile") }
        chmod(path, 0o600)
        #expect(try KeyringFile.load(path).activeKey.id == "k1")
    }
}
