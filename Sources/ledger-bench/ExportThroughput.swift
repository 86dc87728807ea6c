import ArgumentParser
import Foundation
import LedgerClient
import LedgerProtocol

struct ExportThroughput: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Streams the whole store as ledger-rpc export does, sampling both sides' memory.",
        discussion: """
            Pages through every event oldest first, encoding each as ndjson and discarding it, so \
            what is timed is the daemon's reads and the wire. The daemon's resident memory is read \
            from /proc after every page and kept after each tenth of the events: once the store's \
            page cache is warm it stays flat, as an export holds one page at a time.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The daemon's Unix socket.", valueName: "path"))
    var socket: String

    @Option(name: .long, help: "Events per page (the daemon's --max-query-limit bounds it).")
    var pageSize: UInt32 = 1_000

    @Flag(name: .long, help: "Print one JSON object instead of a table.")
    var json = false

    func run() async throws {
        guard let daemon = DaemonProcess.listening(on: self.socket) else {
            throw BenchFailure("no ledgerd answers on \(self.socket)")
        }
        let client = LedgerClient(socketPath: self.socket)
        let report = try await client.executeThenShutdown { client in try await self.measure(client, daemon: daemon) }
        print(self.json ? try encodeJSON(report) : report.table())
    }

    private func measure(_ client: LedgerClient, daemon: DaemonProcess) async throws -> ExportReport {
        let expected = max(1, Int(try await client.count()))
        var byTenth: [Int] = []
        let startMemory = daemon.memory?.resident ?? 0
        var highest = startMemory
        var ownHighest = ownResidentBytes()
        let ownStart = ownHighest
        var events = 0
        var bytes = 0
        let started = monotonicNanoseconds()
        for try await page in client.pages(pageSize: self.pageSize) {
            events += page.events.count
            for event in page.events { bytes += event.ndjsonLength }
            let resident = daemon.memory?.resident ?? 0
            highest = max(highest, resident)
            while byTenth.count < 10, events * 10 >= expected * (byTenth.count + 1) { byTenth.append(resident) }
            ownHighest = max(ownHighest, ownResidentBytes())
        }
        let seconds = Double(monotonicNanoseconds() - started) / 1e9
        return ExportReport(
            events: events, seconds: seconds, eventsPerSecond: Double(events) / max(seconds, 1e-9), outputBytes: bytes,
            daemonRSSStart: startMemory, daemonRSSMax: highest, daemonRSSByTenth: byTenth, clientRSSStart: ownStart, clientRSSMax: ownHighest)
    }
}

extension LedgerEvent {
    /// About what `ledger-rpc export` writes for the event, without building the line.
    fileprivate var ndjsonLength: Int {
        200 + self.eventType.utf8.count + self.entityType.utf8.count + self.entityID.utf8.count + self.metadata.utf8.count
            + (self.workerID?.utf8.count ?? 0)
    }
}

/// This process's resident memory, from /proc/self/status.
func ownResidentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
        let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
    else { return 0 }
    return kilobytes * 1024
}

struct ExportReport: Encodable {
    var events: Int
    var seconds: Double
    var eventsPerSecond: Double
    var outputBytes: Int
    var daemonRSSStart: Int
    var daemonRSSMax: Int
    /// After each tenth of the events: flat once the store's page cache is warm.
    var daemonRSSByTenth: [Int]
    var clientRSSStart: Int
    var clientRSSMax: Int

    enum CodingKeys: String, CodingKey {
        case events, seconds
        case eventsPerSecond = "events_per_second"
        case outputBytes = "output_bytes_approx"
        case daemonRSSStart = "daemon_rss_start_bytes"
        case daemonRSSMax = "daemon_rss_max_bytes"
        case daemonRSSByTenth = "daemon_rss_by_tenth_bytes"
        case clientRSSStart = "client_rss_start_bytes"
        case clientRSSMax = "client_rss_max_bytes"
    }

    func table() -> String {
        func mib(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
        return """
            ledger-bench export: \(self.events) events in \(String(format: "%.1f", self.seconds)) s, \(Int(self.eventsPerSecond)) events/s
              daemon RSS \(mib(self.daemonRSSStart)) at the start, at most \(mib(self.daemonRSSMax)) (+\(mib(self.daemonRSSMax - self.daemonRSSStart)))
              daemon RSS after each tenth: \(self.daemonRSSByTenth.map { String(format: "%.0f", Double($0) / 1_048_576) }.joined(separator: " ")) MiB
              client RSS \(mib(self.clientRSSStart)) at the start, at most \(mib(self.clientRSSMax)) (+\(mib(self.clientRSSMax - self.clientRSSStart)))
            """
    }
}
