import Foundation
import LedgerProtocol
import LedgerTestSupport
import NIOCore
import Testing

/// `--metrics-listen`: Prometheus scrapes during a load, checked by `promtool check metrics`
/// (Debian's prometheus package), with the counters equal to `ledger-rpc stats`.
@Suite struct MetricsTests {
    static func scrape(_ address: String, path: String = "/metrics", method: String = "GET") async throws -> (code: String, body: String) {
        let result = try await Subprocess.run(["curl", "-s", "-X", method, "-w", "\n%{http_code}", "http://\(address)\(path)"])
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        return (String(lines.last ?? ""), lines.dropLast().joined(separator: "\n"))
    }

    static func value(_ name: String, in exposition: String) -> Double? {
        exposition.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    /// A client's report of events it dropped, as the client libraries send it once they reconnect.
    static func reportGap(_ socket: String, reason: ReportGap.Reason, events: UInt64) async throws -> Bool {
        try await onThreadOfItsOwn {
            guard let descriptor = RawConnection.unix(socket) else { return false }
            defer { close(descriptor) }
            let now = LedgerTimestamp(rawValue: Int64(Date().timeIntervalSince1970 * 1_000_000))
            var buffer = ByteBuffer()
            LedgerRequest.reportGap(ReportGap(id: UUID(), client: "metrics-test", reason: reason, events: events, firstDropped: now, lastDropped: now))
                .encode(requestID: 1, into: &buffer)
            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            guard write(descriptor, bytes, bytes.count) == bytes.count else { return false }
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            var answer = [UInt8](repeating: 0, count: 512)
            return poll(&poller, 1, 60_000) == 1 && read(descriptor, &answer, answer.count) > 0
        }
    }

    @Test func aScrapeDuringALoadPassesPromtoolAndItsCountersAreStats() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = try await Daemon.start(in: directory, extraArguments: ["--metrics-listen", "0"])
        let ready = daemon.stderr.split(separator: "\n").first { $0.hasPrefix("ready") } ?? ""
        let address = try #require(ready.split(separator: " ").first { $0.hasPrefix("metrics=") }.map { String($0.dropFirst("metrics=".count)) })
        #expect(address.hasPrefix("127.0.0.1:"), "a bare port is served on loopback: \(ready)")

        async let load = runTool("ledger-bench", ["--socket", daemon.socketPath, "--connections", "4", "--events", "20000", "--ack", "--batch", "10"])
        var during: [String] = []
        for _ in 0..<5 {
            during.append(try await Self.scrape(address).body)
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(try await load.status == 0)
        #expect(try await Self.reportGap(daemon.socketPath, reason: .bufferFull, events: 7))
        #expect(try await Self.reportGap(daemon.socketPath, reason: .daemonUnreachable, events: 3))
        let (code, after) = try await Self.scrape(address)
        #expect(code == "200")
        for (index, exposition) in (during + [after]).enumerated() {
            let file = "\(directory)/scrape-\(index).txt"
            try exposition.write(toFile: file, atomically: true, encoding: .utf8)
            let checked = try await Subprocess.run(["sh", "-c", "promtool check metrics < \"$0\"", file])
            #expect(checked.status == 0, "\(checked.stdout)\(checked.stderr)")
        }
        #expect(during.contains { $0.contains("ledgerd_events_received_total") }, "scraped while the load ran")
        let stats = try await runTool("ledger-rpc", ["stats", "--json", "--socket", daemon.socketPath])
        let counters = try #require(try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any])
        let committed = try #require(counters["events_committed"] as? Int)
        #expect(committed == 20_002, "the load and the two gap records")
        #expect(after.contains("ledgerd_client_dropped_events_total{reason=\"buffer_full\"} 7"), "\(after)")
        #expect(after.contains("ledgerd_client_dropped_events_total{reason=\"daemon_unreachable\"} 3"))
        #expect(Self.value("ledgerd_events_committed_total", in: after) == Double(committed))
        #expect(Self.value("ledgerd_ack_latency_seconds_count", in: after) == 2_002, "one observation per acknowledged request")
        #expect(Self.value("ledgerd_batch_events_sum", in: after) == 20_002)
        #expect(Self.value("ledgerd_store_available", in: after) == 1)
        #expect(after.contains("ledgerd_connections{kind=\"socket\"}") && after.contains("# TYPE ledgerd_commit_duration_seconds histogram"))

        // The dashboard shipped in dist/ asks only for what ledgerd serves.
        let dashboard = try String(
            contentsOf: TestCertificates.repository.appendingPathComponent("dist/grafana/ledgerd-dashboard.json"), encoding: .utf8)
        let asked = Set(dashboard.matches(of: /ledgerd_[a-z_]+/).map { String($0.output) })
        #expect(asked.count >= 10)
        for name in asked {
            #expect(after.contains("\n\(name)") || after.contains("\n\(name){"), "the dashboard asks for \(name), which /metrics does not have")
        }

        #expect(try await Self.scrape(address, path: "/").code == "404")
        #expect(try await Self.scrape(address, method: "POST").code == "405")
        await daemon.stop()
    }

    @Test func aBadAddressIsOneLine() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try await runTool("ledgerd", ["--store", "sqlite:\(directory)/l.sqlite", "--socket", "\(directory)/s.sock", "--metrics-listen", "70000"])
        #expect(result.status == 2 && result.stderr.contains("--metrics-listen \"70000\" is not valid"), "\(result.stderr)")
    }
}
