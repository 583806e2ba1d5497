import Foundation

/// Throwaway directories and keyring files for tests that start real processes.
public enum TemporaryFiles {
    /// A fresh directory `/tmp/<prefix>-XXXXXX` (mkdtemp, mode 700).
    public static func directory(prefix: String) -> String {
        var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
        return String(cString: template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!)! })
    }

    /// Writes a one-key keyring (`spec/protocol.md`, "Keyrings") with mode 600.
    public static func writeKeyring(at path: String, keyID: String, secret: String, caller: String? = nil) {
        let encoded = Data(secret.utf8).base64EncodedString()
        let callerField = caller.map { #","caller":"\#($0)""# } ?? ""
        _ = FileManager.default.createFile(
            atPath: path,
            contents: Data(#"{"keys":[{"id":"\#(keyID)","secret":"\#(encoded)"\#(callerField)}]}"#.utf8),
            attributes: [.posixPermissions: 0o600]
        )
    }
}
