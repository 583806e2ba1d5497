import Foundation
import RollbackClient
import RollbackProtocol
import TestSupport
import Testing

/// TLS on the API listener of a real `rollback-broker serve`, certificates made by `openssl`,
/// the client library and `rollbackctl` over `https://`.
@Suite("TLS")
struct TLSTests {
    /// A CA and a server certificate it signed, for 127.0.0.1 and localhost.
    struct Authority {
        let caFile: String
        let certificateFile: String
        let keyFile: String

        init(in directory: String, name: String) throws {
            caFile = "\(directory)/\(name)-ca.pem"
            certificateFile = "\(directory)/\(name)-server.pem"
            keyFile = "\(directory)/\(name)-server.key"
            let caKey = "\(directory)/\(name)-ca.key"
            let request = "\(directory)/\(name)-server.csr"
            let extensions = "\(directory)/\(name)-ext.cnf"
            try Shell.run([
                "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout", caKey, "-out", caFile, "-days", "2", "-subj", "/CN=Rollback test CA \(name)",
            ])
            try Shell.run([
                "openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", keyFile, "-out", request, "-subj", "/CN=localhost",
            ])
            try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(
                toFile: extensions,
                atomically: true,
                encoding: .utf8
            )
            try Shell.run([
                "openssl", "x509", "-req", "-in", request, "-CA", caFile, "-CAkey", caKey, "-CAcreateserial",
                "-out", certificateFile, "-days", "2", "-extfile", extensions,
            ])
        }
    }

    static func log(_ log: String, port name: String) -> Int? {
        guard let range = log.range(of: "\(name)=[0-9]+", options: .regularExpression) else { return nil }
        return Int(log[range].dropFirst(name.count + 1))
    }

    @Test(
        "the client over https with a CA file; plain HTTP to the TLS port fails cleanly; operations routes on the admin listener; SIGHUP serves a renewed certificate"
    )
    func tls() async throws {
        let directory = TemporaryFiles.directory(prefix: "rbk-tls")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try Authority(in: directory, name: "first")
        let second = try Authority(in: directory, name: "second")
        // The broker reads the files it is told about; a renewal replaces their contents.
        let certificate = "\(directory)/server.pem"
        let key = "\(directory)/server.key"
        try FileManager.default.copyItem(atPath: first.certificateFile, toPath: certificate)
        try FileManager.default.copyItem(atPath: first.keyFile, toPath: key)
        let keyring = BrokerHarness.writeClientKeyring(in: directory)
        let broker = try await BrokerProcess.start(
            [
                "serve", "--keyring", keyring, "--set", "tlsCertificateFile=\(certificate)", "--set",
                "tlsKeyFile=\(key)", "--set", "adminListen=0",
            ],
            logPath: "\(directory)/broker.log"
        )
        defer { broker.kill() }
        let url = "https://127.0.0.1:\(broker.port)"

        let trusting = try BrokerClient(url: url, keyringFile: keyring, caFile: first.caFile)
        #expect(try await trusting.projects(limit: 1).projects.count <= 1)
        #expect(trusting.baseURL == url)

        // The system's trust store does not know the test CA: refused (the handshake fails;
        // NIOSSL may report it as the channel closing), not a hang.
        var systemTrust = try BrokerClient(url: url, keyringFile: keyring)
        systemTrust.maxAttempts = 1
        let refusedAt = ContinuousClock.now
        await #expect(throws: BrokerError.self) { _ = try await systemTrust.projects(limit: 1) }
        #expect(ContinuousClock.now - refusedAt < .seconds(10))

        // Plain HTTP to the TLS port: the handshake fails and the connection ends, quickly.
        let started = ContinuousClock.now
        await #expect(throws: (any Error).self) {
            try await HTTP1Connection.withConnection(host: "127.0.0.1", port: broker.port) {
                try await $0.send(method: "GET", target: "/healthz")
            }
        }
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(try await trusting.projects(limit: 1).projects.count <= 1, "still serving")

        // /healthz and /metrics moved to the admin listener (plain HTTP, loopback).
        let adminPort = try #require(Self.log(broker.log, port: "admin.port"))
        let health = try await HTTP1Connection.withConnection(host: "127.0.0.1", port: adminPort) {
            try await $0.send(method: "GET", target: "/metrics")
        }
        #expect(health.status == 200 && String(decoding: health.body, as: UTF8.self).contains("rollback_"))
        let tls = try ClientTLS(caFile: first.caFile)
        let moved = try await HTTP1Connection.withConnection(host: "127.0.0.1", port: broker.port, tls: tls) {
            try await $0.send(method: "GET", target: "/metrics")
        }
        #expect(moved.status == 404)

        // Renewal: another CA's certificate in the same files, then SIGHUP.
        try Data(contentsOf: URL(fileURLWithPath: second.certificateFile)).write(
            to: URL(fileURLWithPath: certificate)
        )
        try Data(contentsOf: URL(fileURLWithPath: second.keyFile)).write(to: URL(fileURLWithPath: key))
        broker.signal(SIGHUP)
        let renewed = try BrokerClient(url: url, keyringFile: keyring, caFile: second.caFile)
        try await waitUntil(timeout: .seconds(10), "the renewed certificate") {
            (try? await renewed.projects(limit: 1)) != nil
        }
        await #expect(throws: BrokerError.self) { _ = try await trusting.projects(limit: 1) }
        #expect(broker.log.contains("reloaded the TLS certificate on SIGHUP"))

        // rollbackctl speaks https with --broker-ca-file.
        let ctl = try await ChildProcess.run(
            ChildProcess.packageProgram("rollbackctl"),
            [
                "projects", "list", "--limit", "1", "--broker-url", url, "--broker-keyring", keyring,
                "--broker-ca-file", second.caFile,
            ]
        )
        #expect(ctl.status == 0, "\(ctl.stderr)")
        try await broker.stop()
    }

    @Test("a TLS file that cannot be used stops the start with its name")
    func badFiles() async throws {
        let directory = TemporaryFiles.directory(prefix: "rbk-tls-bad")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let keyring = BrokerHarness.writeClientKeyring(in: directory)
        try "not a certificate".write(toFile: "\(directory)/bad.pem", atomically: true, encoding: .utf8)
        let run = try await ChildProcess.run(
            ChildProcess.packageProgram("rollback-broker"),
            [
                "serve", "--keyring", keyring, "--port", "0", "--set",
                "tlsCertificateFile=\(directory)/bad.pem",
                "--set", "tlsKeyFile=\(directory)/bad.pem",
            ],
            environment: [
                "ROLLBACK_BROKER_POSTGRES_URL": try TestEnvironment.postgresURL(),
                "ROLLBACK_BROKER_REDIS_URL": try TestEnvironment.redisURL(),
            ]
        )
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains("tlsCertificateFile \(directory)/bad.pem"), "\(run.stderr)")
        let half = try await ChildProcess.run(
            ChildProcess.packageProgram("rollback-broker"),
            ["serve", "--keyring", keyring, "--set", "tlsCertificateFile=\(directory)/bad.pem"]
        )
        #expect(half.status == 2 && half.stderr.contains("TLS needs both"), "\(half.stderr)")
    }
}
