import ArgumentParser
import Foundation
import Histogram
import LedgerClient
import LedgerProtocol

struct ClientCost: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client-cost",
        abstract: "Times the thin client's fire-and-forget log call, as a service would make it.",
        discussion: """
            Calls LedgerClient.logJobEvent --calls times in bursts of 1,000, timing each run of \
            100 calls, and waits for the daemon between bursts so that no event is dropped for a \
            full buffer. Point --socket at a path where no daemon listens to time the call with the \
            daemon down. Allocations and system calls per call are counted from outside: \
            scripts/bench.sh runs this under valgrind and strace.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The daemon's Unix socket, or a path with no daemon behind it.", valueName: "path"))
    var socket: String

    @Option(name: .long, help: "Log calls to time.")
    var calls = 1_000_000

    @Flag(name: .long, help: "Print one JSON object instead of a table.")
    var json = false

    func validate() throws {
        guard self.calls >= 1_000 else { throw ValidationError("--calls must be at least 1000, got \(self.calls)") }
    }

    func run() async throws {
        let client = LedgerClient(socketPath: self.socket)
        let job = UUID()
        let metadata = #"{"attempt":1,"queue":"render"}"#
        var perCall = Histogram<UInt64>(highestTrackableValue: 10_000_000, numberOfSignificantValueDigits: .three)
        let reachable = await client.flush(timeout: .seconds(2))
        // Warm up: connection, buffers and caches, as in a service that has been running a while.
        for _ in 0..<10_000 {
            client.logJobEvent(jobID: job, eventType: "job_processing_started", metadata: metadata, workerID: "worker-7")
        }
        if reachable { _ = await client.flush() }
        let block = 100
        var done = 0
        while done < self.calls {
            for _ in 0..<10 {
                let started = monotonicNanoseconds()
                for _ in 0..<block {
                    client.logJobEvent(jobID: job, eventType: "job_processing_started", metadata: metadata, workerID: "worker-7")
                }
                _ = perCall.record(max(1, (monotonicNanoseconds() - started) / UInt64(block)))
            }
            done += block * 10
            if reachable { _ = await client.flush() }
        }
        let statistics = client.statistics
        await client.shutdown()
        let report = ClientCostReport(
            daemonReachable: reachable, calls: done, medianNanoseconds: perCall.valueAtPercentile(50),
            p99Nanoseconds: perCall.valueAtPercentile(99), sent: statistics.sent, dropped: statistics.dropped,
            connectionAttempts: statistics.connectionAttempts)
        print(self.json ? try encodeJSON(report) : report.table())
    }
}

struct ClientCostReport: Encodable {
    var daemonReachable: Bool
    var calls: Int
    var medianNanoseconds: UInt64
    var p99Nanoseconds: UInt64
    var sent: Int
    var dropped: Int
    var connectionAttempts: Int

    enum CodingKeys: String, CodingKey {
        case calls, sent, dropped
        case daemonReachable = "daemon_reachable"
        case medianNanoseconds = "median_ns"
        case p99Nanoseconds = "p99_ns"
        case connectionAttempts = "connection_attempts"
    }

    func table() -> String {
        """
        ledger-bench client-cost: \(self.calls) calls, daemon \(self.daemonReachable ? "reachable" : "down")
          per call     median \(self.medianNanoseconds) ns, p99 \(self.p99Nanoseconds) ns (averaged over runs of 100 calls)
          events       \(self.sent) sent, \(self.dropped) dropped, \(self.connectionAttempts) connection attempts
        """
    }
}
