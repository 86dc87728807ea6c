import ArgumentParser
import Atomics
import Foundation
import Histogram
import LedgerClient
import LedgerProtocol
import Synchronization

struct Soak: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Many thin clients logging for a fixed time, to show nothing is lost and memory stays bounded.",
        discussion: """
            Each of --connections connections is a LedgerClient, as a service embeds it. With --ack \
            every client sends acknowledged requests one after another for --duration seconds, and \
            every acknowledged id can be written to --acked-ids for checking against the store. \
            Without --ack the clients log fire-and-forget at --rate events per second in all: \
            above what the daemon sustains, its backpressure fills each client's --client-buffer \
            and the clients drop and count, then report the drops as gap records once they can.

            The daemon's resident memory is sampled from /proc every 100 ms; the report gives the \
            peak of the first and of the second half of the run, so growth shows as a difference.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The daemon's Unix socket.", valueName: "path"))
    var socket: String

    @Option(name: .long, help: "Client connections, one LedgerClient each.")
    var connections = 200

    @Option(name: .long, help: ArgumentHelp("How long the clients log.", valueName: "seconds"))
    var duration = 60.0

    @Flag(name: .long, help: "Wait for an acknowledgement of every request (durable before answered).")
    var ack = false

    @Option(name: .long, help: "Events per request.")
    var batch = 1

    @Option(name: .long, help: ArgumentHelp("Events per second in all; needed without --ack, optional with it.", valueName: "events"))
    var rate: Double?

    @Option(name: .long, help: ArgumentHelp("Each client's buffer for events the socket does not yet take.", valueName: "bytes"))
    var clientBuffer = 64 << 10

    @Option(name: .long, help: ArgumentHelp("Approximate size of each event's metadata JSON.", valueName: "bytes"))
    var payload = 100

    @Option(name: .long, help: ArgumentHelp("Write every acknowledged id here, one per line, with --ack.", valueName: "file"))
    var ackedIds: String?

    @Option(name: .long, help: ArgumentHelp("The daemon's process id, when SO_PEERCRED cannot find it.", valueName: "pid"))
    var daemonPid: Int32?

    @Flag(name: .long, help: "Print one JSON object instead of a table.")
    var json = false

    func validate() throws {
        guard (1...10_000).contains(self.connections) else { throw ValidationError("--connections must be 1...10000, got \(self.connections)") }
        guard self.duration > 0, self.duration <= 86_400 else { throw ValidationError("--duration must be 0...86400 seconds, got \(self.duration)") }
        guard (1...LogBatch.maximumCount).contains(self.batch) else { throw ValidationError("--batch must be 1...\(LogBatch.maximumCount), got \(self.batch)") }
        if let rate = self.rate, !(rate > 0) { throw ValidationError("--rate must be a positive number of events per second, got \(rate)") }
        if !self.ack, self.rate == nil { throw ValidationError("--rate is needed without --ack: fire-and-forget clients log at a set rate") }
        if self.ackedIds != nil, !self.ack { throw ValidationError("--acked-ids needs --ack") }
        guard self.clientBuffer >= 1_024 else { throw ValidationError("--client-buffer must be at least 1024 bytes, got \(self.clientBuffer)") }
        guard (0...(LedgerEvent.Limits.metadata - 100)).contains(self.payload) else {
            throw ValidationError("--payload must be 0...\(LedgerEvent.Limits.metadata - 100) bytes, got \(self.payload)")
        }
    }

    func run() async throws {
        let daemon = self.daemonPid.map(DaemonProcess.init(pid:)) ?? DaemonProcess.listening(on: self.socket)
        let cpuBefore = daemon?.cpuSeconds
        let monitor = MemoryMonitor(daemon: daemon)
        let tally = SoakTally()
        let reporter = SoakProgress(tally: tally, duration: self.duration)
        let metadata = "{\"pad\":\"" + String(repeating: "x", count: max(0, self.payload - 10)) + "\"}"
        var configuration = LedgerClientConfiguration(socketPath: self.socket)
        configuration.bufferLimitBytes = self.clientBuffer
        configuration.clientName = "ledger-bench-soak"
        configuration.requestTimeout = .seconds(60)
        let plan = SoakPlan(
            configuration: configuration, acknowledged: self.ack, batch: self.batch, metadata: metadata,
            eventsPerSecond: self.rate.map { $0 / Double(self.connections) },
            deadline: ContinuousClock.now + .milliseconds(Int64(self.duration * 1_000)))
        let started = ContinuousClock.now
        let clients = try await withCompanions([monitor.run, reporter.run]) {
            await withTaskGroup(of: SoakClient.Result.self) { group in
                for index in 0..<self.connections {
                    group.addTask { await SoakClient(plan: plan, index: index, tally: tally).run() }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
        }
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        let stats = try? await LedgerClient(socketPath: self.socket).executeThenShutdown { try await $0.stats() }

        if let path = self.ackedIds {
            let text = clients.flatMap(\.acknowledged).map { $0.lowercaseText + "\n" }.joined()
            guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
                throw BenchFailure("cannot write --acked-ids \(path)")
            }
        }
        var latency = Histogram<UInt64>(highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: .three)
        for client in clients { latency.add(client.latency) }
        let statistics = clients.compactMap(\.statistics)
        let acknowledged = clients.reduce(0) { $0 + $1.acknowledged.count }
        let logged = tally.events.load(ordering: .relaxed)
        let cpu = both(cpuBefore, daemon?.cpuSeconds).map { $1 - $0 }
        let halves = monitor.halvesMiB
        let report = SoakReport(
            mode: self.ack ? "ack" : "fire-and-forget", connections: self.connections, seconds: seconds, batch: self.batch,
            offeredEventsPerSecond: self.rate, eventsLogged: logged, acknowledged: self.ack ? acknowledged : nil,
            eventsPerSecond: Double(self.ack ? acknowledged : statistics.reduce(0) { $0 + $1.sent }) / seconds,
            latency: self.ack ? LatencySummary(latency) : nil,
            errors: clients.reduce(0) { $0 + $1.errors }, firstError: clients.compactMap(\.firstError).first,
            droppedBufferFull: statistics.reduce(0) { $0 + $1.droppedBufferFull },
            droppedUnreachable: statistics.reduce(0) { $0 + $1.droppedUnreachable },
            rejected: statistics.reduce(0) { $0 + $1.rejected },
            gapReportsStored: statistics.reduce(0) { $0 + $1.gapReportsStored },
            dropsUnreported: statistics.reduce(0) { $0 + $1.dropsUnreported },
            daemonEventsDroppedByClients: stats?[counter: "events_dropped_by_clients"],
            daemonPID: daemon?.pid, daemonCPUPercent: cpu.map { $0 / seconds * 100 }, daemonPeakRSSMiB: monitor.peakMiB,
            daemonPeakRSSFirstHalfMiB: halves?.first, daemonPeakRSSSecondHalfMiB: halves?.second)
        print(self.json ? try encodeJSON(report) : report.table)
        if report.errors > 0 { throw ExitCode(1) }
    }
}

/// What every soak client shares: its settings and when to stop.
struct SoakPlan: Sendable {
    var configuration: LedgerClientConfiguration
    var acknowledged: Bool
    var batch: Int
    var metadata: String
    var eventsPerSecond: Double?
    var deadline: ContinuousClock.Instant
}

/// Counts shared by the clients, read by the progress line.
final class SoakTally: Sendable {
    let events = ManagedAtomic(0)
}

/// One thin client logging until the deadline.
struct SoakClient {
    struct Result: Sendable {
        var acknowledged: [UUID] = []
        var latency = Histogram<UInt64>(highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: .three)
        var errors = 0
        var firstError: String?
        var statistics: ClientStatistics?
    }

    let plan: SoakPlan
    let index: Int
    let tally: SoakTally

    func run() async -> Result {
        let client = LedgerClient(configuration: self.plan.configuration)
        var result = Result()
        var logged = 0
        let started = ContinuousClock.now
        var sequence = 0
        while ContinuousClock.now < self.plan.deadline {
            let events = (0..<self.plan.batch).map { _ in
                sequence += 1
                return LedgerClient.makeEvent(
                    eventType: "job_processing_started", entityType: "job", entityID: "soak-\(self.index)-\(sequence)",
                    metadata: self.plan.metadata, workerID: "soak-\(self.index)")
            }
            if self.plan.acknowledged {
                let sent = ContinuousClock.now
                do {
                    try await client.logAcknowledged(events)
                    result.latency.record(UInt64(max(0, (ContinuousClock.now - sent) / .microseconds(1))))
                    result.acknowledged += events.map(\.id)
                } catch {
                    result.errors += 1
                    if result.firstError == nil { result.firstError = "\(error)" }
                }
            } else {
                client.logBatch(events)
            }
            logged += events.count
            self.tally.events.wrappingIncrement(by: events.count, ordering: .relaxed)
            if let rate = self.plan.eventsPerSecond {
                // Paced against the start, so a slow moment is made up rather than lost.
                let due = started + .milliseconds(Int64(Double(logged) / rate * 1_000))
                if due > ContinuousClock.now { try? await Task.sleep(until: due) }
            } else if !self.plan.acknowledged {
                await Task.yield()
            }
        }
        // Time for what is buffered, and for the gap reports, to reach the daemon.
        _ = await client.flush(timeout: .seconds(30))
        for _ in 0..<300 where client.statistics.dropsUnreported > 0 {
            try? await Task.sleep(for: .milliseconds(100))
        }
        result.statistics = client.statistics
        await client.shutdown()
        return result
    }
}

struct SoakReport: Encodable {
    var mode: String
    var connections: Int
    var seconds: Double
    var batch: Int
    var offeredEventsPerSecond: Double?
    var eventsLogged: Int
    var acknowledged: Int?
    /// Acknowledged events per second with --ack; events handed to the socket per second without.
    var eventsPerSecond: Double
    var latency: LatencySummary?
    var errors: Int
    var firstError: String?
    var droppedBufferFull: Int
    var droppedUnreachable: Int
    var rejected: Int
    var gapReportsStored: Int
    var dropsUnreported: Int
    var daemonEventsDroppedByClients: Int64?
    var daemonPID: Int32?
    var daemonCPUPercent: Double?
    var daemonPeakRSSMiB: Double?
    var daemonPeakRSSFirstHalfMiB: Double?
    var daemonPeakRSSSecondHalfMiB: Double?

    enum CodingKeys: String, CodingKey {
        case mode, connections, seconds, batch, errors, rejected, acknowledged
        case offeredEventsPerSecond = "offered_events_per_second"
        case eventsLogged = "events_logged"
        case eventsPerSecond = "events_per_second"
        case latency = "latency_us"
        case firstError = "first_error"
        case droppedBufferFull = "dropped_buffer_full"
        case droppedUnreachable = "dropped_unreachable"
        case gapReportsStored = "gap_reports_stored"
        case dropsUnreported = "drops_unreported"
        case daemonEventsDroppedByClients = "daemon_events_dropped_by_clients"
        case daemonPID = "daemon_pid"
        case daemonCPUPercent = "daemon_cpu_percent"
        case daemonPeakRSSMiB = "daemon_peak_rss_mib"
        case daemonPeakRSSFirstHalfMiB = "daemon_peak_rss_first_half_mib"
        case daemonPeakRSSSecondHalfMiB = "daemon_peak_rss_second_half_mib"
    }

    var table: String {
        func mib(_ value: Double?) -> String { value.map { String(format: "%.1f MiB", $0) } ?? "-" }
        var lines = [
            "mode                \(self.mode), \(self.connections) connections, batch \(self.batch), \(String(format: "%.1f", self.seconds)) s",
            "events logged       \(self.eventsLogged)" + (self.offeredEventsPerSecond.map { String(format: " (offered %.0f/s)", $0) } ?? ""),
            String(format: "events/s            %.0f", self.eventsPerSecond),
        ]
        if let acknowledged = self.acknowledged { lines.append("acknowledged        \(acknowledged)") }
        if let latency = self.latency { lines.append("ack latency         \(latency.text)") }
        lines += [
            "errors              \(self.errors)" + (self.firstError.map { " (first: \($0))" } ?? ""),
            "dropped             \(self.droppedBufferFull) buffer full, \(self.droppedUnreachable) unreachable, \(self.rejected) rejected",
            "gap reports         \(self.gapReportsStored) stored, \(self.dropsUnreported) drops unreported"
                + (self.daemonEventsDroppedByClients.map { ", daemon counts \($0) dropped" } ?? ""),
            "daemon RSS          peak \(mib(self.daemonPeakRSSMiB)): first half \(mib(self.daemonPeakRSSFirstHalfMiB)), second half \(mib(self.daemonPeakRSSSecondHalfMiB))",
            "daemon CPU          " + (self.daemonCPUPercent.map { String(format: "%.0f%%", $0) } ?? "-"),
        ]
        return lines.joined(separator: "\n")
    }
}

/// A line on standard error every five seconds, so a long run shows it is alive.
struct SoakProgress: Sendable {
    let tally: SoakTally
    let duration: Double

    /// Reports every five seconds until cancelled; run beside the soak with `withCompanions`.
    @Sendable func run() async {
        let started = ContinuousClock.now
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(5))
            if Task.isCancelled { return }
            let seconds = (ContinuousClock.now - started) / .seconds(1)
            let events = self.tally.events.load(ordering: .relaxed)
            FileHandle.standardError.write(
                Data(String(format: "ledger-bench: %.0f of %.0f s, %d events logged, %.0f events/s\n", seconds, self.duration, events, Double(events) / seconds).utf8))
        }
    }
}
