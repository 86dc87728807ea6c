import Foundation
import LedgerProtocol
import LedgerStore
import LedgerTestSupport
import Testing

/// Validation accepts exactly what every store keeps: an event at the edge of each rule is
/// valid and stored by each store, and one just past the edge, where a store is the reason
/// for the rule, is refused by validation and by that store alike.
@Suite struct StorageEdgeTests {
    static func event(timestamp: Int64 = 1_700_000_000_000_000, metadata: String = "{}") -> LedgerEvent {
        LedgerEvent(
            id: UUID(), timestamp: LedgerTimestamp(rawValue: timestamp), eventType: "job_created", entityType: "job", entityID: "j",
            metadata: metadata)
    }

    /// Just inside each rule.
    static let edges: [LedgerEvent] = [
        Self.event(timestamp: LedgerTimestamp.earliest.rawValue),
        Self.event(timestamp: LedgerTimestamp.latest.rawValue),
        Self.event(metadata: #"{"n":1e-16383}"#),
        Self.event(metadata: #"{"n":-1.5e-16382}"#),
        Self.event(metadata: "{\"n\":0." + String(repeating: "0", count: 16_383) + "}"),
        Self.event(metadata: #"{"n":0e1073741822}"#),
        // Exactly the metadata limit once written out: `{"n":` and `}` and 65,530 digits.
        Self.event(metadata: #"{"n":1e65529}"#),
    ]

    /// Just past the rules PostgreSQL is the reason for.
    static let pastPostgreSQLsEdges: [LedgerEvent] = [
        Self.event(metadata: #"{"n":1e-16384}"#),
        Self.event(metadata: #"{"n":0e-16384}"#),
        Self.event(metadata: #"{"n":0e1073741823}"#),
        Self.event(metadata: #"{"n":1e999999}"#),
        Self.event(metadata: "{\"n\":0." + String(repeating: "1", count: 20_000) + "}"),
        // Before 4713 BC.
        Self.event(timestamp: Int64.min / 2),
    ]

    @Test(arguments: StoreKind.allCases)
    func everyStoreKeepsEventsAtTheEdgeOfEveryRule(kind: StoreKind) async throws {
        for event in Self.edges {
            try event.validate()
        }
        try await EventStoreTests.withStore(kind) { (store: any EventStore) async throws in
            #expect(try await store.append(Self.edges) == Self.edges.count)
            let stored = try await store.query(QueryRequest(order: .oldestFirst, limit: 100)).events
            #expect(Set(stored.map(\.id)) == Set(Self.edges.map(\.id)))
            for event in Self.edges {
                let back = try #require(stored.first { $0.id == event.id })
                #expect(back.timestamp == event.timestamp)
                // Foundation cannot represent such numbers, so the document is checked as JSON text.
                let kept = JSONObjectValidator.problem(in: back.metadata) == nil && back.metadata.contains("\"n\"") == event.metadata.contains("\"n\"")
                #expect(kept, "metadata of \(event.metadata.prefix(30)) came back as \(back.metadata.prefix(30))")
            }
        }
    }

    @Test func validationRefusesWhatPostgreSQLRefuses() async throws {
        for event in Self.pastPostgreSQLsEdges {
            #expect(throws: LedgerProtocolError.self, "\(event.metadata.prefix(40))") { try event.validate() }
        }
        guard TestPostgres.uri != nil || TestPostgres.isRequired else { return }
        try await EventStoreTests.withStore(.postgres) { (store: any EventStore) async throws in
            for event in Self.pastPostgreSQLsEdges {
                await #expect(throws: StoreError.self, "\(event.metadata.prefix(40)) at \(event.timestamp!.rawValue)") {
                    try await store.append([event])
                }
            }
            #expect(try await store.count(EventFilter()) == 0)
        }
    }
}
