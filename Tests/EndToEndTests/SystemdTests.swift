import Foundation
import LedgerProtocol
import LedgerTestSupport
import Testing

/// ledgerd under a service manager, without one running: `systemd-socket-activate` (Debian's
/// systemd package) makes the sockets and starts ledgerd on the first connection, as a socket
/// unit does, and a datagram socket of the test's own plays `NOTIFY_SOCKET`.
@Suite struct SystemdTests {
    static let activator = "/usr/bin/systemd-socket-activate"

    /// systemd-socket-activate listening on `listen`, starting ledgerd with `arguments` on the first connection.
    static func activate(_ listen: [String], names: String, environment: [String], _ arguments: [String]) async throws -> ChildProcess {
        #expect(FileManager.default.isExecutableFile(atPath: Self.activator), "scripts/test.sh installs Debian's systemd package for \(Self.activator)")
        let process = try ChildProcess(
            [Self.activator] + listen.flatMap { ["--listen", $0] } + ["--fdname", names] + environment.flatMap { ["--setenv", $0] }
                + [Binaries.url("ledgerd").path] + arguments)
        for address in listen { _ = await process.waitForLine(startingWith: "Listening on \(address)") }
        return process
    }

    @Test func clientsThatConnectBeforeTheDaemonStartsLoseNothingAndTheManagerIsTold() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socket = "\(directory)/ledgerd.sock"
        let notify = try NotifySocket(path: "\(directory)/notify")
        defer { notify.close() }
        let daemon = try await Self.activate(
            [socket], names: "ledgerd.socket", environment: ["NOTIFY_SOCKET=\(notify.path)", "WATCHDOG_USEC=400000"],
            ["--store", "sqlite:\(directory)/ledger.sqlite"])
        defer { daemon.signal(SIGKILL) }
        #expect(FileManager.default.fileExists(atPath: socket))
        #expect(!daemon.stderr.contains("Execing"), "ledgerd starts only once a client connects: \(daemon.stderr)")

        // The first client's connection starts ledgerd; every client waits in the socket's backlog meanwhile.
        async let first = runTool("ledger-rpc", ["log", "video_uploaded", "video_asset", "v-1", "--socket", socket, "--timeout", "120"])
        async let second = runTool("ledger-rpc", ["log", "video_uploaded", "video_asset", "v-2", "--socket", socket, "--timeout", "120"])
        async let third = runTool("ledger-rpc", ["log", "video_uploaded", "video_asset", "v-3", "--socket", socket, "--timeout", "120"])
        let results = try await [first, second, third]
        #expect(results.allSatisfy { $0.status == 0 }, "\(results.map(\.stderr)) \(daemon.stderr)")
        #expect(await daemon.waitForLine(startingWith: "ready socket=\(socket)"), "\(daemon.stderr)")

        let ready = try #require(try await notify.messages(until: "READY=1", waiting: .seconds(60)), "no READY=1: \(daemon.stderr)")
        let status = ready.last?.split(separator: "\n").first { $0.hasPrefix("STATUS=") }
        #expect(status?.hasPrefix("STATUS=serving \(socket): ") == true, "\(ready)")
        // Status lines from before the commits may still be queued on the socket; one after them must come.
        let pinged = try await notify.messages(waiting: .seconds(60)) { message in
            message.contains("WATCHDOG=1") && message.contains("STATUS=serving \(socket): 3 events committed")
        }
        #expect(pinged != nil, "no watchdog ping with the three events counted")

        daemon.signal(SIGTERM)
        let stopping = try await notify.messages(until: "STOPPING=1", waiting: .seconds(60))
        #expect(stopping != nil, "\(daemon.stderr)")
        #expect(await daemon.waitForExit() == 0, "\(daemon.stderr)")
        #expect(FileManager.default.fileExists(atPath: socket), "the socket is its manager's: ledgerd leaves it in place")
        #expect(try await sqlite("\(directory)/ledger.sqlite", "SELECT group_concat(entity_id, ',') FROM (SELECT entity_id FROM ledger_events ORDER BY entity_id)") == "v-1,v-2,v-3")
    }

    @Test func anActivatedTCPSocketIsTheTLSListener() async throws {
        let certs = try await TestCertificates.make()
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let port = try TCPListener.unusedPort()
        let socket = "\(directory)/ledgerd.sock"
        let daemon = try await Self.activate(
            [socket, "127.0.0.1:\(port)"], names: "unix:tls", environment: [],
            [
                "--store", "sqlite:\(directory)/ledger.sqlite", "--tls-cert", certs.serverCertificate, "--tls-key", certs.serverKey,
                "--tls-client-ca", certs.authority,
            ])
        defer { daemon.signal(SIGKILL) }
        // The first connection to the TCP socket starts ledgerd; the TLS peer comes once it serves.
        _ = RawConnection.tcp(port: port).map { close($0) }
        #expect(await daemon.waitForLine(startingWith: "ready socket=\(socket) tls=127.0.0.1:\(port)"), "\(daemon.stderr)")
        let remote = ["--connect", "tls://127.0.0.1:\(port)", "--cert", certs.clientCertificate, "--key", certs.clientKey, "--ca", certs.authority]
        let ping = try await runTool("ledger-rpc", ["ping", "--timeout", "120"] + remote)
        #expect(ping.status == 0, "\(ping.stdout) \(ping.stderr) \(daemon.stderr)")
        #expect(try await runTool("ledger-rpc", ["ping", "--socket", socket]).status == 0)
        daemon.signal(SIGTERM)
        #expect(await daemon.waitForExit() == 0, "\(daemon.stderr)")
    }

    @Test func aPassedSocketThatContradictsTheOptionsStopsTheStartWithOneLine() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socket = "\(directory)/ledgerd.sock"
        let daemon = try await Self.activate(
            [socket], names: "ledgerd.socket", environment: [], ["--socket", "\(directory)/other.sock", "--store", "sqlite:\(directory)/ledger.sqlite"])
        defer { daemon.signal(SIGKILL) }
        _ = RawConnection.unix(socket).map { close($0) }
        #expect(await daemon.waitForExit() == 2)
        #expect(daemon.stderr.contains("socket activation passed fd 3 (ledgerd.socket): Unix socket \(socket), but --socket is \(directory)/other.sock"), "\(daemon.stderr)")

        let garbled = try await runTool("ledgerd", ["--store", "sqlite:\(directory)/ledger.sqlite"], environment: ["LISTEN_PID": "one", "LISTEN_FDS": "1"])
        #expect(garbled.status == 2 && garbled.stderr.contains("LISTEN_PID=one is not a process id"), "\(garbled.stderr)")
        let notify = try await runTool("ledgerd", ["--store", "sqlite:\(directory)/ledger.sqlite"], environment: ["NOTIFY_SOCKET": "relative/notify"])
        #expect(notify.status == 2 && notify.stderr.contains("NOTIFY_SOCKET=relative/notify is neither an absolute path"), "\(notify.stderr)")
    }
}

/// The shipped units, as systemd reads them: `systemd-analyze verify` finds nothing to say, and
/// the hardening keeps `systemd-analyze security`'s exposure at 2.0 or under (1.2 as shipped).
@Suite struct SystemdUnitTests {
    static let units = TestCertificates.repository.appendingPathComponent("dist/systemd").path

    @Test func theUnitsVerifyAndTheServiceIsHardened() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // verify checks that ExecStart's binary exists: point it at the one just built.
        let service = try String(contentsOfFile: "\(Self.units)/ledgerd.service", encoding: .utf8)
        #expect(service.contains("ExecStart=/usr/local/bin/ledgerd "))
        try service.replacingOccurrences(of: "/usr/local/bin/ledgerd", with: Binaries.url("ledgerd").path)
            .write(toFile: "\(directory)/ledgerd.service", atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: "\(Self.units)/ledgerd.socket", toPath: "\(directory)/ledgerd.socket")
        let verified = try await Subprocess.run(
            ["systemd-analyze", "verify", "--man=no", "\(directory)/ledgerd.socket", "\(directory)/ledgerd.service"])
        #expect(verified.status == 0 && verified.stdout.isEmpty && verified.stderr.isEmpty, "\(verified.stdout)\(verified.stderr)")
        let security = try await Subprocess.run(
            ["systemd-analyze", "security", "--offline=yes", "--threshold=20", "--no-pager", "\(directory)/ledgerd.service"])
        #expect(security.status == 0, "\(security.stdout.split(separator: "\n").suffix(3))")
        #expect(security.stdout.contains("Overall exposure level for ledgerd.service"))
    }

    @Test func theSocketUnitListensWhereClientsLookWithoutASocketOption() throws {
        let socket = try String(contentsOfFile: "\(Self.units)/ledgerd.socket", encoding: .utf8)
        #expect(socket.split(separator: "\n").contains("ListenStream=\(LedgerDefaults.systemSocketPath)"))
    }
}
