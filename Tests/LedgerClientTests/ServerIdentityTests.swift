import Foundation
@testable import LedgerClient
import LedgerProtocol
import LedgerTestSupport
import NIOSSL
import Testing

/// The daemon's certificate is checked against the name the user typed, never the address it resolved to.
@Suite struct ServerIdentityTests {
    @Test(arguments: [
        ("localhost", "localhost", true), ("LOCALHOST.", "localhost", true), ("*.example.com", "a.example.com", true),
        ("*.example.com", "example.com", false), ("*.example.com", "a.b.example.com", false), ("*.com", "a.com", false),
        ("ledger.example.com", "ledger.example.org", false),
    ])
    func dnsNamesMatchAsRFC6125Says(pattern: String, name: String, matches: Bool) {
        #expect(ServerIdentity.matches(pattern: pattern, name: name) == matches)
    }

    /// gen-certs.sh's server certificate names DNS:localhost, IP:127.0.0.1 and IP:::1.
    @Test func aNameIsCheckedAgainstNamesAndAnAddressAgainstAddresses() async throws {
        let certificates = try await TestCertificates.make()
        let certificate = try #require(try NIOSSLCertificate.fromPEMFile(certificates.serverCertificate).first)
        #expect(ServerIdentity.problem(certificate: certificate, expected: "localhost") == nil)
        #expect(ServerIdentity.problem(certificate: certificate, expected: "127.0.0.1") == nil)
        #expect(ServerIdentity.problem(certificate: certificate, expected: "::1") == nil)
        // A name that resolves to 127.0.0.1 is still not a name the certificate carries.
        let problem = try #require(ServerIdentity.problem(certificate: certificate, expected: "vm"))
        #expect(problem.contains("not issued for vm") && problem.contains("DNS:localhost") && problem.contains("IP:127.0.0.1"), "\(problem)")
        #expect(ServerIdentity.problem(certificate: certificate, expected: "127.0.0.2") != nil)
    }

    @Test func clientsLookForTheSystemDaemonWhenTheirOwnSocketIsAbsent() {
        #expect(LedgerDefaults.clientSocketCandidates(environment: [:], userID: 1000) == ["/tmp/ledgerd-1000/ledgerd.sock", "/run/ledgerd/ledgerd.sock"])
        #expect(LedgerDefaults.clientSocketCandidates(environment: ["XDG_RUNTIME_DIR": "/run/user/1000"], userID: 1000)
            == ["/run/user/1000/ledgerd.sock", "/run/ledgerd/ledgerd.sock"])
        #expect(LedgerDefaults.clientSocketCandidates(environment: [:], userID: 0) == ["/run/ledgerd/ledgerd.sock"])
        #expect(LedgerDefaults.clientSocketCandidates(environment: ["LEDGER_SOCKET": "/x.sock"], userID: 1000) == ["/x.sock"])
    }
}
