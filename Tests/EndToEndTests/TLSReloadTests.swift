import Foundation
import LedgerTestSupport
import Testing

/// SIGHUP rotates the TLS listener's certificate, key and client CA: new handshakes get the new
/// ones, a connection made before is served on until it closes, and a broken file keeps what works.
@Suite struct TLSReloadTests {
    /// The SHA-256 fingerprint of the certificate the listener presents now, as openssl sees it.
    static func presented(_ daemon: Daemon) async throws -> String {
        let address = try #require(daemon.tlsURL).dropFirst("tls://".count)
        let shown = try await Subprocess.run([
            "bash", "-c", "openssl s_client -connect \(address) </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256",
        ])
        return shown.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func fingerprint(_ pem: String) async throws -> String {
        try await Subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", pem]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func remote(_ daemon: Daemon, _ certs: TestCertificates) throws -> [String] {
        ["--connect", try #require(daemon.tlsURL), "--cert", certs.clientCertificate, "--key", certs.clientKey, "--ca", certs.authority]
    }

    @Test func sighupRotatesTheCertificateForNewHandshakesOnly() async throws {
        let old = try await TestCertificates.makeAnother()
        let new = try await TestCertificates.makeAnother()
        let live = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: live) }
        func install(_ certs: TestCertificates) throws {
            for (from, to) in [(certs.serverCertificate, "server.pem"), (certs.serverKey, "server.key"), (certs.authority, "ca.pem")] {
                try? FileManager.default.removeItem(atPath: "\(live)/\(to)")
                try FileManager.default.copyItem(atPath: from, toPath: "\(live)/\(to)")
            }
        }
        try install(old)
        let daemon = try await Daemon.start(
            in: try makeTemporaryDirectory(),
            extraArguments: ["--tls-listen", "127.0.0.1:0", "--tls-cert", "\(live)/server.pem", "--tls-key", "\(live)/server.key", "--tls-client-ca", "\(live)/ca.pem"])
        let oldPrint = try await Self.fingerprint(old.serverCertificate)
        let newPrint = try await Self.fingerprint(new.serverCertificate)
        #expect(oldPrint != newPrint && oldPrint.contains("Fingerprint"))
        #expect(try await Self.presented(daemon) == oldPrint)

        // A remote tail, connected with the old certificates, waits for two events.
        async let tailed = runTool("ledger-rpc", ["tail", "--json", "--type", "clip_created", "--max-events", "2"] + Self.remote(daemon, old))
        #expect(try await waitUntil(within: 120, every: .milliseconds(25)) { try await runTool("ledger-rpc", ["stats", "--json", "--socket", daemon.socketPath]).stdout.contains("\"tail_subscribers\":1") })

        try install(new)
        daemon.signal(SIGHUP)
        #expect(try await waitUntil(within: 120, every: .milliseconds(25)) { daemon.stderr.contains("reloaded the TLS certificate") }, "\(daemon.stderr)")
        #expect(try await Self.presented(daemon) == newPrint, "a new handshake gets the new certificate")
        #expect(try await runTool("ledger-rpc", ["ping"] + Self.remote(daemon, new)).status == 0)
        let stranger = try await runTool("ledger-rpc", ["ping"] + Self.remote(daemon, old))
        #expect(stranger.status != 0, "the old client CA no longer admits new connections")

        for index in 0..<2 {
            _ = try await runTool("ledger-rpc", ["log", "clip_created", "clip", "c-\(index)", "--socket", daemon.socketPath])
        }
        let tail = try await tailed
        #expect(tail.status == 0 && tail.stdout.split(separator: "\n").count == 2, "the connection made before is served on: \(tail.stderr)")

        // A broken certificate file: the ones in use stay, and the log says why.
        try "not a certificate\n".write(toFile: "\(live)/server.pem", atomically: true, encoding: .utf8)
        daemon.signal(SIGHUP)
        #expect(try await waitUntil(within: 120, every: .milliseconds(25)) { daemon.stderr.contains("kept the TLS files in use") }, "\(daemon.stderr)")
        #expect(daemon.stderr.contains("\(live)/server.pem"), "the line names the file")
        #expect(try await Self.presented(daemon) == newPrint)
        #expect(try await runTool("ledger-rpc", ["ping"] + Self.remote(daemon, new)).status == 0)
        #expect(daemon.isRunning)
        await daemon.stop()
    }
}
