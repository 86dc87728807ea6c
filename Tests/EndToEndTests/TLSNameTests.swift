import Foundation
import LedgerTestSupport
import Testing

/// The name typed is the name checked, and TLS failures read as one line on both sides.
@Suite struct TLSNameTests {
    /// gen-certs.sh's server certificate names DNS:localhost, IP:127.0.0.1 and IP:::1.
    @Test func theDaemonsCertificateMustCarryTheNameTyped() async throws {
        let certs = try await TLSTests.certificates()
        let daemon = try await TLSTests.startDaemon(certs: certs)
        let url = try #require(daemon.tlsURL)
        let port = try #require(url.split(separator: ":").last.map(String.init))
        let files = ["--cert", "\(certs)/client.pem", "--key", "\(certs)/client.key", "--ca", "\(certs)/ca.pem"]
        for accepted in [["--connect", "tls://localhost:\(port)"], ["--connect", "tls://127.0.0.1:\(port)"],
            ["--connect", "tls://127.0.0.1:\(port)", "--server-name", "localhost"]]
        {
            let ping = try await runTool("ledger-rpc", ["ping"] + accepted + files)
            #expect(ping.status == 0, "\(accepted): \(ping.stderr)")
        }
        // A name that reaches 127.0.0.1 but that the certificate does not carry is refused, whatever it resolves to.
        let refused = try await runTool("ledger-rpc", ["ping", "--connect", "tls://127.0.0.1:\(port)", "--server-name", "vm"] + files)
        #expect(refused.status == 1, "\(refused.stdout)")
        let lines = refused.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains("not issued for vm") && lines[0].contains("DNS:localhost"), "\(refused.stderr)")
        let tail = try await runTool("ledger-rpc", ["tail", "--connect", "tls://127.0.0.1:\(port)", "--server-name", "vm"] + files)
        #expect(tail.status == 1 && tail.stderr.contains("not issued for vm"), "a tail checks the name too: \(tail.stderr)")
        await daemon.stop()
    }

    /// An ordinary disconnect is not news; a refusal is one line saying who and why, never BoringSSL's text.
    @Test func tlsFailuresAreOneReadableLineOnEachSide() async throws {
        let certs = try await TLSTests.certificates()
        let daemon = try await TLSTests.startDaemon(certs: certs)
        for _ in 0..<3 {
            let ping = try await runTool("ledger-rpc", ["ping"] + (try TLSTests.remote(daemon, certs: certs)))
            #expect(ping.status == 0, "\(ping.stderr)")
        }
        // The server's certificate is not a client certificate.
        let wrong = try await runTool("ledger-rpc", ["ping"] + (try TLSTests.remote(daemon, certs: certs, cert: "server")))
        #expect(wrong.status == 1)
        #expect(wrong.stderr.split(separator: "\n").count == 1 && !wrong.stderr.contains("BoringSSL") && !wrong.stderr.contains(".build/"), "\(wrong.stderr)")
        try await Task.sleep(for: .milliseconds(300))
        let log = daemon.stderr
        #expect(!log.contains("uncleanShutdown") && !log.contains("BoringSSL") && !log.contains(".build/checkouts"), "\(log)")
        #expect(log.contains("TLS handshake refused") && log.contains("reason="), "\(log)")
        await daemon.stop()
    }
}
