import Foundation
import LedgerProtocol
import Testing

@Suite struct LedgerEventTests {
    @Test func acceptsTheSeedsEvents() throws {
        try Fixtures.fullEvent.validate()
        try Fixtures.minimalEvent.validate()
    }

    @Test(arguments: [("event_type", 100), ("entity_type", 50), ("entity_id", 255)])
    func enforcesTheTablesLengths(name: String, limit: Int) throws {
        let fields: [String: WritableKeyPath<LedgerEvent, String>] = [
            "event_type": \.eventType, "entity_type": \.entityType, "entity_id": \.entityID,
        ]
        let field = try #require(fields[name])
        var event = Fixtures.minimalEvent
        event[keyPath: field] = String(repeating: "x", count: limit)
        try event.validate()
        event[keyPath: field] = String(repeating: "x", count: limit + 1)
        let error = try #require(throws: LedgerProtocolError.self) { try event.validate() }
        #expect(error.code == .invalidEvent)
        #expect(error.message.hasPrefix(name))
        event[keyPath: field] = ""
        #expect(throws: LedgerProtocolError.self) { try event.validate() }
    }

    @Test func limitsWorkerID() throws {
        var event = Fixtures.minimalEvent
        event.workerID = String(repeating: "w", count: 101)
        let error = try #require(throws: LedgerProtocolError.self) { try event.validate() }
        #expect(error.message.hasPrefix("worker_id"))
    }

    @Test(arguments: ["[1]", "\"text\"", "{broken", "42"])
    func metadataMustBeAnObject(metadata: String) throws {
        var event = Fixtures.minimalEvent
        event.metadata = metadata
        let error = try #require(throws: LedgerProtocolError.self) { try event.validate() }
        #expect(error.message.hasPrefix("metadata"))
    }

    @Test func uuidV7CarriesTheTimeAndVersion() {
        let id = UUID.ledgerV7(unixMilliseconds: 0x0190_F5A2_7B3C)
        let text = id.uuidString.lowercased()
        #expect(text.hasPrefix("0190f5a2-7b3c-7"))
        let variant = text[text.index(text.startIndex, offsetBy: 19)]
        #expect("89ab".contains(variant))
        #expect(UUID.ledgerV7(unixMilliseconds: 1) < UUID.ledgerV7(unixMilliseconds: 2))
    }

    @Test func jsonHasTheSeedsFieldNames() {
        let json = Fixtures.fullEvent.jsonObject
        for field in ["id", "timestamp", "event_type", "entity_type", "entity_id", "metadata", "severity", "worker_id", "job_id", "clip_id"] {
            #expect(json.contains("\"\(field)\":"))
        }
        #expect(json.contains(#""metadata":{"index":1,"duration_ms":15000}"#))
        #expect(json.contains(#""timestamp":"2026-11-25T10:15:30.123456Z""#))
    }
}

extension UUID {
    static func < (lhs: UUID, rhs: UUID) -> Bool {
        lhs.uuidString < rhs.uuidString
    }
}
