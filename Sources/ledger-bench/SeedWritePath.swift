import ArgumentParser
import Foundation
import LedgerFiles
import LedgerProtocol
import LedgerStore
import Logging

struct SeedWritePath: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed-path",
        abstract: "Writes events the way the Python ledger it replaces (ledger.py, the \"seed\") did: one insert and one commit per event, one connection per service.",
        discussion: """
            The reference that ledgerd's batching is measured against. Each of --connections \
            services opens its own connection to --store (no daemon in between) and commits \
            every event in its own transaction.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The store, as ledgerd's --store takes it.", valueName: "uri"))
    var store: String

    @Option(name: .long, help: "Services, each with its own connection.")
    var connections = 1

    @Option(name: .long, help: "Events to write in all.")
    var events = 5_000

    @Option(name: .long, help: ArgumentHelp("Approximate size of each event's metadata JSON.", valueName: "bytes"))
    var payload = 100

    @Flag(name: .long, help: "Print one JSON object instead of a table.")
    var json = false

    func validate() throws {
        guard self.connections >= 1 else { throw ValidationError("--connections must be at least 1, got \(self.connections)") }
        guard self.events >= self.connections else { throw ValidationError("--events must be at least --connections, got \(self.events)") }
    }

    func run() async throws {
        let location: StoreLocation
        do {
            location = try StoreLocation(parsing: self.store)
        } catch {
            throw ValidationError("--store: \(error.message)")
        }
        var logger = Logger(label: "ledger-bench")
        logger.logLevel = .warning
        var stores: [any EventStore] = []
        for _ in 0..<self.connections {
            do {
                // Several services on one file, as ledger.py ran: none of them is a daemon that owns it.
                stores.append(try await location.open(exclusive: false, logger: logger))
            } catch {
                throw BenchFailure("cannot open \(location): \(error)")
            }
        }
        let started = monotonicNanoseconds()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, store) in stores.enumerated() {
                let share = self.events / self.connections + (index < self.events % self.connections ? 1 : 0)
                let payload = self.payload
                group.addTask {
                    var generator = SyntheticEvents(payloadBytes: payload, workerID: "seed-\(index)")
                    for _ in 0..<share {
                        _ = try await store.insert([generator.next(at: LedgerTimestamp.now())])
                    }
                }
            }
            try await group.waitForAll()
        }
        let seconds = Double(monotonicNanoseconds() - started) / 1e9
        for store in stores { await store.close() }
        let report = SeedReport(connections: self.connections, events: self.events, seconds: seconds, eventsPerSecond: Double(self.events) / seconds)
        print(
            self.json
                ? try encodeJSON(report)
                : String(format: "ledger-bench seed-path: %d connections, %d events, %.0f events/s (%.2f s)", self.connections, self.events, report.eventsPerSecond, seconds))
    }
}

struct SeedReport: Encodable {
    var connections: Int
    var events: Int
    var seconds: Double
    var eventsPerSecond: Double

    enum CodingKeys: String, CodingKey {
        case connections, events, seconds
        case eventsPerSecond = "events_per_second"
    }
}
