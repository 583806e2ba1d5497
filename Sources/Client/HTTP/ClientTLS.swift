import Foundation
import NIOSSL

/// TLS for the client's connections (`https://`): the certificates it trusts — the system's
/// trust store, or the CA certificates of one PEM file — and full verification of the server's
/// certificate against the host it connects to (a DNS name, or an IP address in the
/// certificate's subject alternative names).
public struct ClientTLS: Sendable {
    let context: NIOSSLContext

    /// - Parameter caFile: a PEM file of the CA certificates to trust instead of the system's.
    /// - Throws: `ClientTLSError` naming the file and what is wrong with it.
    public init(caFile: String? = nil) throws(ClientTLSError) {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let caFile {
            guard FileManager.default.isReadableFile(atPath: caFile) else {
                throw ClientTLSError(message: "cannot read the CA file \(caFile)")
            }
            do {
                let certificates = try NIOSSLCertificate.fromPEMFile(caFile)
                guard !certificates.isEmpty else {
                    throw ClientTLSError(message: "\(caFile) holds no PEM certificate")
                }
                configuration.trustRoots = .certificates(certificates)
            } catch let error as ClientTLSError {
                throw error
            } catch {
                throw ClientTLSError(message: "\(caFile) is not a PEM certificate file: \(error)")
            }
        }
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw ClientTLSError(message: "cannot set up TLS: \(error)")
        }
    }

    /// The name to send (SNI) and verify: nil for an IP address, which NIOSSL verifies against
    /// the certificate's IP entries instead.
    static func serverHostname(_ host: String) -> String? {
        var ipv4 = in_addr()
        var ipv6 = in6_addr()
        if inet_pton(AF_INET, host, &ipv4) == 1 || inet_pton(AF_INET6, host, &ipv6) == 1 { return nil }
        return host
    }
}

/// Why TLS could not be set up for a client.
public struct ClientTLSError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
