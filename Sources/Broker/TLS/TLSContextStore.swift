import Foundation
import NIOSSL
import Synchronization

/// The API listener's TLS certificate chain and key, as a server context, read from their PEM
/// files at start-up and again on `SIGHUP` (`reload()`): a renewed certificate is served to new
/// connections without a restart, and open connections keep the one they began with.
final class TLSContextStore: Sendable {
    let certificateFile: String
    let keyFile: String
    private let context: Mutex<NIOSSLContext>

    /// - Throws: `TLSFilesError` naming the file and the problem.
    init(certificateFile: String, keyFile: String) throws(TLSFilesError) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.context = Mutex(try Self.load(certificateFile: certificateFile, keyFile: keyFile))
    }

    var current: NIOSSLContext { context.withLock { $0 } }

    /// Reads the files again; a problem keeps the context loaded before. Returns a summary for
    /// the log.
    func reload() throws(TLSFilesError) -> String {
        let fresh = try Self.load(certificateFile: certificateFile, keyFile: keyFile)
        context.withLock { $0 = fresh }
        return "\(certificateFile) and \(keyFile)"
    }

    private static func load(certificateFile: String, keyFile: String) throws(TLSFilesError) -> NIOSSLContext
    {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificateFile)
        } catch {
            throw TLSFilesError(
                "tlsCertificateFile \(certificateFile): cannot read a PEM certificate chain (\(error))"
            )
        }
        guard !chain.isEmpty else {
            throw TLSFilesError("tlsCertificateFile \(certificateFile) holds no PEM certificate")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        } catch {
            throw TLSFilesError("tlsKeyFile \(keyFile): cannot read a PEM private key (\(error))")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(key)
        )
        configuration.minimumTLSVersion = .tlsv12
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSFilesError(
                "\(certificateFile) and \(keyFile) cannot be used together (is the key the certificate's?): \(error)"
            )
        }
    }
}

/// Why the TLS files could not be used.
struct TLSFilesError: Error, Sendable, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}
