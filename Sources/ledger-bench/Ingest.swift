import ArgumentParser
import Atomics
import Foundation
import Histogram
import LedgerProtocol
import NIOConcurrencyHelpers
import NIOPosix

struct Ingest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sends events from several connections as fast as the daemon takes them.",
        discussion: """
            --connections connections share --events events evenly. Without --ack every frame is \
            fire-and-forget and each ~64 KiB write ends with a sync, whose answer times the \
            commit; with --ack every frame asks for an acknowledgement, --window of them in \
            flight per connection, and each is timed from send to acknowledgement.

            The daemon's CPU time and resident memory are read from /proc for the process \
            answering on the socket (found with SO_PEERCRED), so run it on the daemon's host.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The daemon's Unix socket.", valueName: "path"))
    var socket: String

    @Option(name: .long, help: "Client connections, each on its own task.")
    var connections = 4

    @Option(name: .long, help: "Events to send in all.")
    var events = 100_000

    @Flag(name: .long, help: "Ask for an acknowledgement of every frame (durable before answered).")
    var ack = false

    @Option(name: .long, help: "Events per frame: 1 sends log_event, more send log_batch.")
    var batch = 1

    @Option(name: .long, help: "Acknowledged frames in flight per connection, with --ack.")
    var window = 32

    @Option(name: .long, help: ArgumentHelp("Approximate size of each event's metadata JSON.", valueName: "bytes"))
    var payload = 100

    @Option(name: .long, help: ArgumentHelp("Send at most this many events per second in all (default: as fast as the daemon takes them).", valueName: "events"))
    var rate: Double?

    @Option(name: .long, help: ArgumentHelp("The daemon's process id, when SO_PEERCRED cannot find it.", valueName: "pid"))
    var daemonPid: Int32?

    @Flag(name: .long, help: "Print one JSON object instead of a table.")
    var json = false

    func validate() throws {
        guard self.connections >= 1, self.connections <= 10_000 else { throw ValidationError("--connections must be 1...10000, got \(self.connections)") }
        guard self.events >= self.connections else { throw ValidationError("--events must be at least --connections (\(self.connections)), got \(self.events)") }
        guard self.batch >= 1, self.batch <= LogBatch.maximumCount else { throw ValidationError("--batch must be 1...\(LogBatch.maximumCount), got \(self.batch)") }
        if let rate = self.rate, !(rate > 0) { throw ValidationError("--rate must be a positive number of events per second, got \(rate)") }
        guard self.window >= 1 else { throw ValidationError("--window must be at least 1, got \(self.window)") }
        guard self.payload >= 0, self.payload <= LedgerEvent.Limits.metadata - 100 else {
            throw ValidationError("--payload must be 0...\(LedgerEvent.Limits.metadata - 100) bytes, got \(self.payload)")
        }
    }

    func run() async throws {
        let daemon = self.daemonPid.map(DaemonProcess.init(pid:)) ?? DaemonProcess.listening(on: self.socket)
        let progress = ManagedAtomic(0)
        let cpuBefore = daemon?.cpuSeconds
        let monitor = MemoryMonitor(daemon: daemon)
        let reporter = ProgressReporter(total: self.events, progress: progress)
        let started = monotonicNanoseconds()
        let results: [LoadResult]
        do {
            results = try await withCompanions([monitor.run, reporter.run]) {
                try await withThrowingTaskGroup(of: LoadResult.self) { group in
                for index in 0..<self.connections {
                    let share = self.events / self.connections + (index < self.events % self.connections ? 1 : 0)
                    let plan = LoadPlan(
                        events: share, batch: self.batch, acknowledged: self.ack, window: self.window, payloadBytes: self.payload,
                        eventsPerSecond: self.rate.map { $0 / Double(self.connections) })
                    group.addTask {
                        try await LoadConnection.run(
                            socketPath: self.socket, plan: plan, group: MultiThreadedEventLoopGroup.singleton, progress: progress,
                            workerID: "bench-\(index)")
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
                }
            }
        } catch {
            throw BenchFailure("ingest against \(self.socket) failed: \(error)")
        }
        let seconds = Double(monotonicNanoseconds() - started) / 1e9
        var latency = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
        for result in results { latency.add(result.latency) }
        let cpu = both(cpuBefore, daemon?.cpuSeconds).map { $1 - $0 }
        let report = IngestReport(
            mode: self.ack ? "ack" : "fire-and-forget", connections: self.connections, events: self.events, batch: self.batch,
            window: self.ack ? self.window : nil, payloadBytes: self.payload, seconds: seconds,
            eventsPerSecond: Double(self.events) / seconds, latency: LatencySummary(latency),
            failed: results.reduce(0) { $0 + $1.failed }, rejected: results.reduce(0) { $0 + $1.rejected },
            firstFailure: results.compactMap(\.firstFailure).first, daemonPID: daemon?.pid, daemonCPUSeconds: cpu,
            daemonCPUPercent: cpu.map { $0 / seconds * 100 }, daemonPeakRSSMiB: monitor.peakMiB, daemonLifetimePeakRSSMiB: daemon?.memory.map { Double($0.peak) / 1_048_576 })
        if self.json {
            print(try report.json())
        } else {
            print(report.table())
        }
        if report.failed > 0 || report.rejected > 0 { throw ExitCode(1) }
    }
}

func both<A, B>(_ a: A?, _ b: B?) -> (A, B)? {
    guard let a, let b else { return nil }
    return (a, b)
}

/// Samples the daemon's resident memory every 100 ms, so a run's own peak is known
/// even when the daemon's lifetime peak came from an earlier run.
final class MemoryMonitor: Sendable {
    private let peak = ManagedAtomic(0)
    private let samples = NIOLockedValueBox<[Int]>([])
    private let daemon: DaemonProcess?

    init(daemon: DaemonProcess?) {
        self.daemon = daemon
    }

    /// Samples every 100 ms until cancelled; run beside the load with `withCompanions`.
    @Sendable func run() async {
        guard let daemon = self.daemon else { return }
        while !Task.isCancelled {
            if let resident = daemon.memory?.resident {
                if resident > self.peak.load(ordering: .relaxed) { self.peak.store(resident, ordering: .relaxed) }
                self.samples.withLockedValue { $0.append(resident) }
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    /// The peak of the run's first half and of its second: memory that keeps growing shows as a difference.
    var halvesMiB: (first: Double, second: Double)? {
        let samples = self.samples.withLockedValue { $0 }
        guard samples.count >= 2 else { return nil }
        let middle = samples.count / 2
        return (Double(samples[..<middle].max()!) / 1_048_576, Double(samples[middle...].max()!) / 1_048_576)
    }

    var peakMiB: Double? {
        self.daemon == nil ? nil : Double(self.peak.load(ordering: .relaxed)) / 1_048_576
    }
}

/// A line on standard error every five seconds, so a long run shows it is alive.
struct ProgressReporter: Sendable {
    let total: Int
    let progress: ManagedAtomic<Int>

    /// Reports until cancelled; run beside the load with `withCompanions`.
    @Sendable func run() async {
        let started = monotonicNanoseconds()
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(5))
            if Task.isCancelled { return }
            let sent = self.progress.load(ordering: .relaxed)
            let seconds = Double(monotonicNanoseconds() - started) / 1e9
            FileHandle.standardError.write(
                Data(String(format: "ledger-bench: %.0f s, %d of %d events sent (%.0f%%), %.0f events/s\n", seconds, sent, self.total, Double(sent) / Double(self.total) * 100, Double(sent) / seconds).utf8))
        }
    }
}

/// Runs `body` with `companions` (samplers, progress lines) beside it as child tasks, cancelled and
/// awaited once the body ends, so none outlives the measurement.
func withCompanions<Result>(_ companions: [@Sendable () async -> Void], _ body: () async throws -> Result) async throws -> Result {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for companion in companions { group.addTask { await companion() } }
        do {
            let result = try await body()
            group.cancelAll()
            return result
        } catch {
            group.cancelAll()
            throw error
        }
    }
}
