import Foundation
import LedgerTestSupport
import Testing

/// ledgerd's TLS listener on loopback, with certificates from scripts/gen-certs.sh.
@Suite struct TLSTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A CA with server, client and expired client certificates, as an operator would make them;
    /// one set for the run, made off the cooperative pool.
    static func certificates() async throws -> String {
        try await TestCertificates.make().directory
    }

    static func startDaemon(certs: String, extra: [String] = []) async throws -> Daemon {
        let directory = try makeTemporaryDirectory()
        return try await Daemon.start(
            in: directory,
            extraArguments: [
                "--tls-listen", "127.0.0.1:0", "--tls-cert", "\(certs)/server.pem", "--tls-key", "\(certs)/server.key",
                "--tls-client-ca", "\(certs)/ca.pem",
            ] + extra)
    }

    static func remote(_ daemon: Daemon, certs: String, cert: String = "client", ca: String? = nil) throws -> [String] {
        let url = try #require(daemon.tlsURL)
        return ["--connect", url, "--cert", "\(certs)/\(cert).pem", "--key", "\(certs)/\(cert).key", "--ca", ca ?? "\(certs)/ca.pem"]
    }

    @Test func aGoodClientQueriesButMayNotLogUnlessAllowed() async throws {
        let certs = try await Self.certificates()
        let daemon = try await Self.startDaemon(certs: certs)
        let logged = try await runTool("ledger-rpc", ["log", "video_uploaded", "video_asset", "v-1", "--socket", daemon.socketPath])
        #expect(logged.status == 0)
        let remote = try Self.remote(daemon, certs: certs)

        let recent = try await runTool("ledger-rpc", ["query", "recent", "--json"] + remote)
        #expect(recent.status == 0, "\(recent.stderr)")
        #expect(recent.stdout.contains(logged.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))

        let denied = try await runTool("ledger-rpc", ["log", "job_created", "job", "j-1"] + remote)
        #expect(denied.status == 1)
        #expect(denied.stderr.contains("PERMISSION_DENIED"), "\(denied.stderr)")
        let stats = try await runTool("ledger-rpc", ["stats", "--json"] + remote)
        #expect(stats.stdout.contains("\"requests_denied\":1"), "\(stats.stdout)")
        #expect(stats.stdout.contains("\"events_committed\":1"))
        #expect(daemon.stderr.contains("subject=O=SocialSyncLedger,CN=ledger-operator"), "the daemon logs who connected")
        // A remote tail sees events as they are committed.
        async let tailed = runTool("ledger-rpc", ["tail", "--json", "--type", "clip_created", "--max-events", "2"] + remote)
        var subscribed = false
        for _ in 0..<200 where !subscribed {
            try await Task.sleep(for: .milliseconds(25))
            let current = try await runTool("ledger-rpc", ["stats", "--json", "--socket", daemon.socketPath])
            subscribed = current.stdout.contains("\"tail_subscribers\":1")
        }
        #expect(subscribed)
        for index in 0..<3 {
            _ = try await runTool("ledger-rpc", ["log", index == 1 ? "job_created" : "clip_created", "clip", "c-\(index)", "--socket", daemon.socketPath])
        }
        let tail = try await tailed
        #expect(tail.status == 0, "\(tail.stderr)")
        let lines = tail.stdout.split(separator: "\n")
        #expect(lines.count == 2 && lines[0].contains("\"entity_id\":\"c-0\"") && lines[1].contains("\"entity_id\":\"c-2\""), "\(tail.stdout)")

        // Remote peers that hung up without a TLS close_notify must not hold up shutdown.
        daemon.signal(SIGTERM)
        #expect(await daemon.waitForExit() == 0)

        let writable = try await Self.startDaemon(certs: certs, extra: ["--tls-allow-writes"])
        let allowed = try await runTool("ledger-rpc", ["log", "job_created", "job", "j-1"] + Self.remote(writable, certs: certs))
        #expect(allowed.status == 0, "\(allowed.stderr)")
        await writable.stop()
    }

    @Test func refusesCertificatesItCannotTrust() async throws {
        let certs = try await Self.certificates()
        let otherCA = try await TestCertificates.makeAnother().directory
        let daemon = try await Self.startDaemon(certs: certs)

        let expired = try await runTool("ledger-rpc", ["ping"] + Self.remote(daemon, certs: certs, cert: "expired"))
        #expect(expired.status == 1)
        #expect(expired.stderr.contains("expired"), "\(expired.stderr)")

        let stranger = try await runTool("ledger-rpc", ["ping"] + Self.remote(daemon, certs: otherCA, ca: "\(certs)/ca.pem"))
        #expect(stranger.status == 1)
        #expect(stranger.stderr.contains("not issued by a CA the daemon trusts"), "\(stranger.stderr)")

        let untrustedServer = try await runTool("ledger-rpc", ["ping"] + Self.remote(daemon, certs: certs, ca: "\(otherCA)/ca.pem"))
        #expect(untrustedServer.status == 1)
        #expect(untrustedServer.stderr.contains("not trusted by --ca"), "\(untrustedServer.stderr)")

        // No client certificate at all: the handshake ends with an alert and no frame is answered.
        let url = try #require(daemon.tlsURL).dropFirst("tls://".count)
        let bare = try await Subprocess.run(
            ["bash", "-c", "printf '\\x00\\x00\\x00\\x06\\x01\\x01\\x00\\x00\\x00\\x01' | timeout 10 openssl s_client -connect \(url) -CAfile \(certs)/ca.pem -quiet 2>&1"])
        #expect(!bare.stdout.contains("ledgerd/"), "no answer without a client certificate: \(bare.stdout)")
        #expect(bare.stdout.lowercased().contains("alert"), "\(bare.stdout)")

        let pong = try await runTool("ledger-rpc", ["ping"] + Self.remote(daemon, certs: certs))
        #expect(pong.status == 0, "refusals cost the daemon nothing: \(pong.stderr)")
        daemon.signal(SIGTERM)
        #expect(await daemon.waitForExit() == 0)
    }

    @Test func aServerCertificateForAnotherHostIsAHostnameMismatch() async throws {
        let certs = try await Self.certificates()
        let other = try makeTemporaryDirectory()
        // A server certificate from the same CA, but for other.example only.
        let made = try await Subprocess.run([
            "bash", "-c",
            """
            cd \(other) && openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout server.key -out server.csr -subj /CN=other.example 2>/dev/null \
            && printf 'subjectAltName=DNS:other.example\\nextendedKeyUsage=serverAuth\\n' > ext \
            && openssl x509 -req -in server.csr -CA \(certs)/ca.pem -CAkey \(certs)/ca.key -CAcreateserial -out server.pem -days 30 -extfile ext 2>/dev/null
            """,
        ])
        #expect(made.status == 0, "\(made.stderr)")
        let daemon = try await Daemon.start(
            in: try makeTemporaryDirectory(),
            extraArguments: [
                "--tls-listen", "127.0.0.1:0", "--tls-cert", "\(other)/server.pem", "--tls-key", "\(other)/server.key",
                "--tls-client-ca", "\(certs)/ca.pem",
            ])
        let result = try await runTool("ledger-rpc", ["ping"] + Self.remote(daemon, certs: certs))
        #expect(result.status == 1)
        #expect(result.stderr.contains("hostname mismatch"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
        await daemon.stop()
    }

    @Test func badTLSFilesStopStartUpWithTheirName() async throws {
        let certs = try await Self.certificates()
        let otherCA = try await TestCertificates.makeAnother().directory
        let directory = try makeTemporaryDirectory()
        let base = ["--socket", "\(directory)/s.sock", "--store", "sqlite:\(directory)/l.sqlite", "--tls-listen", "127.0.0.1:0"]
        let cases: [([String], String)] = [
            (["--tls-cert", "\(certs)/missing.pem", "--tls-key", "\(certs)/server.key", "--tls-client-ca", "\(certs)/ca.pem"], "missing.pem"),
            (["--tls-cert", "\(certs)/server.pem", "--tls-key", "\(otherCA)/server.key", "--tls-client-ca", "\(certs)/ca.pem"], "does not fit"),
            (["--tls-cert", "\(certs)/server.pem", "--tls-key", "\(certs)/server.key", "--tls-client-ca", "\(certs)/server.key"], "--tls-client-ca"),
            (["--tls-cert", "\(certs)/server.pem", "--tls-key", "\(certs)/server.key"], "--tls-client-ca"),
        ]
        for (arguments, expected) in cases {
            let result = try await runTool("ledgerd", base + arguments)
            #expect(result.status != 0, "\(arguments)")
            #expect(result.stderr.contains(expected), "\(arguments): \(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: "\(directory)/s.sock"), "nothing is left listening")
        }
    }

    /// A counter from `ledger-rpc stats --json` on the local socket.
    static func counter(_ name: String, _ daemon: Daemon) async throws -> Int? {
        let stats = try await runTool("ledger-rpc", ["stats", "--json", "--socket", daemon.socketPath])
        guard let range = stats.stdout.range(of: "\"\(name)\":") else { return nil }
        return Int(stats.stdout[range.upperBound...].prefix { $0.isNumber })
    }

    /// A plain TCP connection to the TLS port that sends `bytes` and then nothing.
    static func silentPeer(port: Int, sending bytes: [UInt8]) throws -> Int32 {
        guard let descriptor = RawConnection.tcp(port: port) else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        if !bytes.isEmpty { _ = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
        return descriptor
    }

    /// Peers that never finish a handshake are closed at its deadline, and however many there are
    /// they only take TLS slots: local services always get in.
    @Test func unfinishedHandshakesNeitherLastNorTakeTheSocketsSlots() async throws {
        let certs = try await Self.certificates()
        let daemon = try await Self.startDaemon(
            certs: certs, extra: ["--max-connections", "4", "--tls-max-connections", "3", "--tls-handshake-timeout", "2"])
        let port = try #require(daemon.tlsURL.flatMap { $0.split(separator: ":").last }.flatMap { Int($0) })
        // The start of a TLS record carrying a ClientHello, and then nothing more.
        let halfHello: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]
        var peers: [Int32] = []
        for index in 0..<12 {
            peers.append(try Self.silentPeer(port: port, sending: index % 2 == 0 ? [] : halfHello))
        }
        // Four local clients at once, each holding its connection while the next connects.
        let tails = (0..<3).map { _ in
            Task { try await runTool("ledger-rpc", ["tail", "--max-events", "1", "--socket", daemon.socketPath]) }
        }
        var subscribed = false
        for _ in 0..<200 where !subscribed {
            subscribed = try await Self.counter("tail_subscribers", daemon) == 3
            if !subscribed { try await Task.sleep(for: .milliseconds(25)) }
        }
        #expect(subscribed, "three local tails got in beside the silent TLS peers")
        #expect(try await Self.counter("tls_connections_current", daemon).map { $0 <= 3 } == true)
        let logged = try await runTool("ledger-rpc", ["log", "job_created", "job", "j-1", "--socket", daemon.socketPath])
        #expect(logged.status == 0, "\(logged.stderr)")
        for tail in tails { _ = try await tail.value }

        // The silent peers are closed at the handshake deadline, freeing their slots.
        var released = false
        for _ in 0..<200 where !released {
            released = try await Self.counter("tls_connections_current", daemon) == 0
            if !released { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(released)
        #expect(try await Self.counter("tls_handshakes_timed_out", daemon).map { $0 >= 3 } == true)
        let remote = try await runTool("ledger-rpc", ["ping"] + Self.remote(daemon, certs: certs))
        #expect(remote.status == 0, "a real TLS client gets in again: \(remote.stderr)")
        for peer in peers { close(peer) }
        await daemon.stop()
    }
}
