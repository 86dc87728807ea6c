import ArgumentParser
import Foundation
import Histogram
import LedgerClient
import LedgerProtocol

struct QueryLatency: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Times the operator's queries: recent(50), a job's timeline, an entity's timeline.",
        discussion: """
            Job and entity ids are sampled from the newest and the oldest 500 events, so both \
            recently written and cold parts of the store are read. Each query is timed from \
            request to the last byte of its answer, one at a time over one connection.
            """
    )

    enum Kind: String, CaseIterable, ExpressibleByArgument {
        case recent, job, entity
        /// One event type in the last hour, newest first: `query type T --since 1h`.
        case typeSince = "type_since"
        /// WARN and ERROR together, newest first: `query events --min-severity WARN`.
        case warnings
        /// A job's events with a severity set and a time window: several filters combined.
        case combined
    }

    @Option(name: .long, help: ArgumentHelp("The daemon's Unix socket.", valueName: "path"))
    var socket: String

    @Option(name: .long, help: "Queries of each kind.")
    var queries = 1_000

    @Option(name: .long, parsing: .upToNextOption, help: "Which queries to time (recent, job, entity, type_since, warnings, combined).")
    var kind: [Kind] = Kind.allCases

    @Flag(name: .long, help: "Print one JSON object instead of a table.")
    var json = false

    func validate() throws {
        guard self.queries >= 1 else { throw ValidationError("--queries must be at least 1, got \(self.queries)") }
    }

    func run() async throws {
        let report = try await LedgerClient(socketPath: self.socket).executeThenShutdown(self.measure)
        print(self.json ? try encodeJSON(report) : report.table())
    }

    private func measure(_ client: LedgerClient) async throws -> QueryReport {
        let sample: [LedgerEvent]
        do {
            sample = try await client.query(QueryRequest(limit: 500)).events + client.query(QueryRequest(order: .oldestFirst, limit: 500)).events
        } catch {
            throw BenchFailure("cannot query ledgerd at \(self.socket): \(error)")
        }
        let jobs = Array(Set(sample.compactMap(\.jobID)))
        let newest = sample.first?.timestamp ?? LedgerTimestamp.now()
        let entities = Array(Set(sample.map { "\($0.entityType)\u{0}\($0.entityID)" })).map { $0.split(separator: "\u{0}").map(String.init) }
        guard !jobs.isEmpty, !entities.isEmpty else {
            throw BenchFailure("the store behind \(self.socket) holds no job events to query; load some first (ledger-bench ingest)")
        }
        var latencies: [Kind: Histogram<UInt64>] = [:]
        var rows: [Kind: Int] = [:]
        for index in 0..<self.queries {
            for kind in self.kind {
                let started = monotonicNanoseconds()
                let found: Int
                switch kind {
                case .recent: found = try await client.recent(limit: 50).count
                case .job: found = try await client.events(forJob: jobs[index % jobs.count]).count
                case .entity:
                    let entity = entities[index % entities.count]
                    found = try await client.timeline(entityType: entity[0], entityID: entity[1]).count
                case .typeSince:
                    let since = LedgerTimestamp(rawValue: newest.rawValue - 3_600_000_000)
                    found = try await client.query(QueryRequest(filter: EventFilter(eventType: "job_processing_failed", since: since), limit: 50)).events.count
                case .warnings:
                    found = try await client.query(QueryRequest(filter: EventFilter(severities: .atLeast(.warn)), limit: 50)).events.count
                case .combined:
                    let filter = EventFilter(
                        jobID: jobs[index % jobs.count], severities: [.info, .error], since: LedgerTimestamp(rawValue: newest.rawValue - 86_400_000_000),
                        until: LedgerTimestamp(rawValue: newest.rawValue + 1))
                    found = try await client.query(QueryRequest(filter: filter, order: .oldestFirst, limit: 1_000)).events.count
                }
                let micros = max(1, (monotonicNanoseconds() - started) / 1_000)
                _ = latencies[kind, default: Histogram(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)].record(micros)
                rows[kind, default: 0] += found
            }
        }
        // A count reads every event: on a store larger than memory it may outlast the daemon's query
        // timeout, which costs the report the store's size, never the latencies measured above.
        let count: UInt64?
        do {
            count = try await client.count()
        } catch let error as LedgerClientError where error.serverError?.code == .queryTimeout {
            count = nil
        }
        return QueryReport(
            storeEvents: count,
            kinds: Dictionary(uniqueKeysWithValues: latencies.map { ($0.key.rawValue, QueryReport.Kind(latency: LatencySummary($0.value), meanRows: Double(rows[$0.key] ?? 0) / Double(self.queries))) }))
    }
}

struct QueryReport: Encodable {
    struct Kind: Encodable {
        var latency: LatencySummary
        var meanRows: Double

        enum CodingKeys: String, CodingKey {
            case p50 = "p50_us", p99 = "p99_us", p999 = "p999_us", max = "max_us", samples = "queries"
            case meanRows = "mean_rows"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(self.latency.p50, forKey: .p50)
            try container.encode(self.latency.p99, forKey: .p99)
            try container.encode(self.latency.p999, forKey: .p999)
            try container.encode(self.latency.max, forKey: .max)
            try container.encode(self.latency.samples, forKey: .samples)
            try container.encode(self.meanRows, forKey: .meanRows)
        }
    }

    /// nil when counting the store ran past the daemon's query timeout.
    var storeEvents: UInt64?
    var kinds: [String: Kind]

    enum CodingKeys: String, CodingKey {
        case storeEvents = "store_events"
        case kinds
    }

    func table() -> String {
        var lines = ["ledger-bench query: " + (self.storeEvents.map { "store holds \($0) events" } ?? "store too large to count within the query timeout")]
        for (name, kind) in self.kinds.sorted(by: { $0.key < $1.key }) {
            lines.append("  \(name.padding(toLength: 7, withPad: " ", startingAt: 0)) \(kind.latency.text), \(String(format: "%.1f", kind.meanRows)) rows each")
        }
        return lines.joined(separator: "\n")
    }
}
