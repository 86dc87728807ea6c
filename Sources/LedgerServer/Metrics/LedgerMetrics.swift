import LedgerProtocol
import NIOConcurrencyHelpers
import Prometheus

/// The daemon's metrics in the Prometheus text format: every `stats` counter, and histograms of
/// what `stats` can only sum (ack latency, commit and sync time, batch size).
///
/// One registry per daemon (not the process-wide default), so daemons in one process stay apart.
/// Every metric is made with its help text, which `promtool check metrics` requires; swift-metrics'
/// factory registers its metrics without one, so the histograms come from the registry directly.
/// The counters are read from `ServerStats` at scrape time, so the ingest path counts nothing twice.
public final class LedgerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let ackLatency: DurationHistogram
    let commitDuration: DurationHistogram
    let syncDuration: DurationHistogram
    let batchEvents: ValueHistogram
    /// What each Prometheus counter was last brought up to, so a scrape adds only the difference.
    private let exported = NIOLockedValueBox<[String: Int64]>([:])

    /// `stats` values that go up and down; every other one only ever grows.
    static let gauges: Set<String> = [
        "queue_depth", "queue_bytes", "events_in_flight", "backlog", "store_available", "answer_bytes_owed", "tail_subscribers",
        "sqlite_files_replaced", "sqlite_writes_refused", "sqlite_segment_filters", "sqlite_segment_filters_held",
        "sqlite_segment_filter_bytes",
    ]
    /// Shown as one gauge with a `kind` label, the Prometheus way, rather than three.
    static let connectionGauges = ["socket_connections_current": "socket", "tls_connections_current": "tls"]

    static let latencyBuckets: [Duration] = [
        .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
    ]

    public init() {
        func seconds(_ name: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "ledgerd", metricName: name, unitName: "seconds", helpText: help)
        }
        self.ackLatency = self.registry.makeDurationHistogram(
            descriptor: seconds("ack_latency", "From an acknowledged request's arrival to its ack, once its events are durable."),
            buckets: Self.latencyBuckets)
        self.commitDuration = self.registry.makeDurationHistogram(
            descriptor: seconds("commit_duration", "Writing one batch to the store, before it is made durable."), buckets: Self.latencyBuckets)
        self.syncDuration = self.registry.makeDurationHistogram(
            descriptor: seconds("store_sync_duration", "Waiting for one committed batch to be durable (fdatasync or the PostgreSQL commit)."),
            buckets: Self.latencyBuckets)
        self.batchEvents = self.registry.makeValueHistogram(
            descriptor: MetricNameDescriptor(namespace: "ledgerd", metricName: "batch", unitName: "events", helpText: "Events per committed batch."),
            buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000])
    }

    /// Events a client reported it dropped (`report_gap`), by the reason it gave.
    func clientDropped(_ events: UInt64, reason: String) {
        self.registry.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "ledgerd", metricName: "client_dropped_events", unitName: "total",
                helpText: "Events clients reported they dropped, by reason (report_gap)."),
            labels: [("reason", reason)]
        ).increment(by: Int64(clamping: events))
    }

    /// The exposition, with the counters brought up to `stats`.
    public func render(_ stats: StatsResult) -> [UInt8] {
        self.exported.withLockedValue { exported in
            for counter in stats.counters {
                let help = "As ledger-rpc stats shows it: \(counter.name)."
                if let kind = Self.connectionGauges[counter.name] {
                    self.registry.makeGauge(
                        descriptor: MetricNameDescriptor(
                            namespace: "ledgerd", metricName: "connections", unitName: "", helpText: "Connections open now, by kind."),
                        labels: [("kind", kind)]
                    ).set(to: Double(counter.value))
                } else if counter.name == "connections_current" {
                    continue
                } else if Self.gauges.contains(counter.name) {
                    self.registry.makeGauge(
                        descriptor: MetricNameDescriptor(namespace: "ledgerd", metricName: counter.name, unitName: "", helpText: help)
                    ).set(to: Double(counter.value))
                } else {
                    // Microseconds in stats; seconds, the base unit, here.
                    let microseconds = counter.name.hasSuffix("_us")
                    let stem = microseconds ? counter.name.dropLast(3) + "_seconds" : counter.name.hasSuffix("_total") ? String(counter.name.dropLast(6)) : counter.name
                    let descriptor = MetricNameDescriptor(namespace: "ledgerd", metricName: stem, unitName: "total", helpText: help)
                    let prometheus = self.registry.makeCounter(descriptor: descriptor)
                    let added = counter.value - exported[descriptor.name, default: 0]
                    guard added > 0 else { continue }
                    if microseconds { prometheus.increment(by: Double(added) / 1_000_000) } else { prometheus.increment(by: added) }
                    exported[descriptor.name] = counter.value
                }
            }
        }
        return self.registry.emitToBuffer()
    }
}
