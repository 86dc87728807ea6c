import Foundation
import Histogram

/// A latency distribution in microseconds, as the reports print it.
struct LatencySummary: Codable, Sendable {
    var samples: UInt64
    var p50: UInt64
    var p99: UInt64
    var p999: UInt64
    var max: UInt64

    init(_ histogram: Histogram<UInt64>) {
        self.samples = histogram.totalCount
        self.p50 = histogram.valueAtPercentile(50)
        self.p99 = histogram.valueAtPercentile(99)
        self.p999 = histogram.valueAtPercentile(99.9)
        self.max = histogram.max
    }

    var text: String {
        "p50 \(Self.format(self.p50))  p99 \(Self.format(self.p99))  p99.9 \(Self.format(self.p999))  max \(Self.format(self.max))  (\(self.samples) samples)"
    }

    static func format(_ microseconds: UInt64) -> String {
        microseconds < 1_000 ? "\(microseconds) µs" : String(format: "%.2f ms", Double(microseconds) / 1_000)
    }
}

struct IngestReport: Encodable {
    var mode: String
    var connections: Int
    var events: Int
    var batch: Int
    var window: Int?
    var payloadBytes: Int
    var seconds: Double
    var eventsPerSecond: Double
    var latency: LatencySummary
    var failed: Int
    var rejected: Int
    var firstFailure: String?
    var daemonPID: Int32?
    var daemonCPUSeconds: Double?
    var daemonCPUPercent: Double?
    var daemonPeakRSSMiB: Double?
    var daemonLifetimePeakRSSMiB: Double?

    enum CodingKeys: String, CodingKey {
        case mode, connections, events, batch, window, seconds, failed, rejected
        case payloadBytes = "payload_bytes"
        case eventsPerSecond = "events_per_second"
        case p50 = "p50_us", p99 = "p99_us", p999 = "p999_us", max = "max_us", samples = "latency_samples"
        case firstFailure = "first_failure"
        case daemonPID = "daemon_pid"
        case daemonCPUSeconds = "daemon_cpu_seconds"
        case daemonCPUPercent = "daemon_cpu_percent"
        case daemonPeakRSSMiB = "daemon_peak_rss_mib"
        case daemonLifetimePeakRSSMiB = "daemon_lifetime_peak_rss_mib"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.mode, forKey: .mode)
        try container.encode(self.connections, forKey: .connections)
        try container.encode(self.events, forKey: .events)
        try container.encode(self.batch, forKey: .batch)
        try container.encode(self.window, forKey: .window)
        try container.encode(self.payloadBytes, forKey: .payloadBytes)
        try container.encode(self.seconds, forKey: .seconds)
        try container.encode(self.eventsPerSecond.rounded(), forKey: .eventsPerSecond)
        try container.encode(self.latency.p50, forKey: .p50)
        try container.encode(self.latency.p99, forKey: .p99)
        try container.encode(self.latency.p999, forKey: .p999)
        try container.encode(self.latency.max, forKey: .max)
        try container.encode(self.latency.samples, forKey: .samples)
        try container.encode(self.failed, forKey: .failed)
        try container.encode(self.rejected, forKey: .rejected)
        try container.encode(self.firstFailure, forKey: .firstFailure)
        try container.encode(self.daemonPID, forKey: .daemonPID)
        try container.encode(self.daemonCPUSeconds, forKey: .daemonCPUSeconds)
        try container.encode(self.daemonCPUPercent, forKey: .daemonCPUPercent)
        try container.encode(self.daemonPeakRSSMiB, forKey: .daemonPeakRSSMiB)
        try container.encode(self.daemonLifetimePeakRSSMiB, forKey: .daemonLifetimePeakRSSMiB)
    }

    func json() throws -> String {
        try encodeJSON(self)
    }

    func table() -> String {
        var lines = [
            "ledger-bench ingest: \(self.connections) connections, \(self.events) events, \(self.mode), batch \(self.batch)"
                + (self.window.map { ", window \($0)" } ?? "") + ", metadata ~\(self.payloadBytes) B",
            String(format: "  throughput   %.0f events/s (%.2f s)", self.eventsPerSecond, self.seconds),
            "  \(self.mode == "ack" ? "ack latency " : "commit (sync)") \(self.latency.text)",
        ]
        if let cpu = self.daemonCPUSeconds, let percent = self.daemonCPUPercent {
            lines.append(String(format: "  daemon       %.2f s CPU (%.0f%% of one core), peak RSS %.1f MiB", cpu, percent, self.daemonPeakRSSMiB ?? 0))
        } else {
            lines.append("  daemon       not measured (its process was not found; pass --daemon-pid)")
        }
        lines.append("  errors       \(self.failed) failed, \(self.rejected) refused" + (self.firstFailure.map { "; first: \($0)" } ?? ""))
        return lines.joined(separator: "\n")
    }
}

func encodeJSON(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

/// A run that could not be completed, with what went wrong.
struct BenchFailure: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}
