import Foundation
import LedgerProtocol
import NIOCore
import Testing

@Suite struct LedgerEventTests {
    @Test func acceptsTheSeedsEvents() throws {
        try Fixtures.fullEvent.validate()
        try Fixtures.minimalEvent.validate()
    }

    /// The event is written through one reservation; it must lay out exactly as PROTOCOL.md's fields written one by one.
    @Test(arguments: [
        Fixtures.fullEvent, Fixtures.minimalEvent,
        LedgerEvent(
            id: UUID(), timestamp: LedgerTimestamp(rawValue: -1), eventType: "vidéo_téléversée", entityType: "クリップ",
            entityID: String(repeating: "e", count: 255), metadata: "", severity: .error, workerID: "", jobID: nil, clipID: UUID()),
        LedgerEvent(
            id: UUID(), eventType: "t", entityType: "u", entityID: "v",
            metadata: #"{"k":""# + String(repeating: "x", count: 70_000) + #""}"#, jobID: UUID(), clipID: nil),
    ])
    func encodesAsItsFieldsOneByOne(event: LedgerEvent) throws {
        var expected = ByteBuffer()
        expected.ledgerWriteUUID(event.id)
        expected.ledgerWriteOptional(event.timestamp) { $0.ledgerWriteTimestamp($1) }
        expected.ledgerWriteString16(event.eventType)
        expected.ledgerWriteString16(event.entityType)
        expected.ledgerWriteString16(event.entityID)
        expected.writeInteger(event.severity.rawValue)
        expected.ledgerWriteOptional(event.workerID) { $0.ledgerWriteString16($1) }
        expected.ledgerWriteOptional(event.jobID) { $0.ledgerWriteUUID($1) }
        expected.ledgerWriteOptional(event.clipID) { $0.ledgerWriteUUID($1) }
        expected.ledgerWriteString32(event.metadata)

        var encoded = ByteBuffer(bytes: [0xEE])
        event.encode(into: &encoded)
        encoded.writeInteger(UInt8(0xFF))
        #expect(encoded.readInteger(as: UInt8.self) == 0xEE)
        #expect(encoded.readSlice(length: expected.readableBytes) == expected, "written in place of the reservation, nothing before or after")
        #expect(encoded.readInteger(as: UInt8.self) == 0xFF && encoded.readableBytes == 0)

        var decoding = expected
        #expect(try LedgerEvent.decode(from: &decoding) == event)
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
}

extension UUID {
    static func < (lhs: UUID, rhs: UUID) -> Bool {
        lhs.uuidString < rhs.uuidString
    }
}

/// The timestamp range of PROTOCOL.md, checked before any arithmetic is done on a value from the wire.
@Suite struct TimestampRangeTests {
    static func event(at raw: Int64) -> LedgerEvent {
        LedgerEvent(id: UUID(), timestamp: LedgerTimestamp(rawValue: raw), eventType: "job_created", entityType: "job", entityID: "j")
    }

    @Test(arguments: [LedgerTimestamp.earliest.rawValue, LedgerTimestamp.latest.rawValue, 0, -1])
    func keepsEveryInstantInTheRange(raw: Int64) throws {
        try Self.event(at: raw).validate()
        try EventFilter(since: LedgerTimestamp(rawValue: raw)).validate()
    }

    @Test func theRangeIsFromYearOneToYear9999() {
        #expect(LedgerTimestamp.earliest.iso8601 == "0001-01-01T00:00:00.000000Z")
        #expect(LedgerTimestamp.latest.iso8601 == "9999-12-31T23:59:59.999999Z")
    }

    @Test(arguments: [
        LedgerTimestamp.earliest.rawValue - 1, LedgerTimestamp.latest.rawValue + 1, Int64.min, Int64.max, Int64.min / 2,
    ])
    func refusesEveryInstantOutside(raw: Int64) {
        #expect(throws: LedgerProtocolError.self) { try Self.event(at: raw).validate() }
        do {
            try Self.event(at: raw).validate()
        } catch {
            #expect(error.code == .invalidEvent && error.message.contains("outside the ledger's range"))
        }
        #expect(throws: LedgerProtocolError.self) { try EventFilter(until: LedgerTimestamp(rawValue: raw)).validate() }
        let cursor = EventCursor(timestamp: LedgerTimestamp(rawValue: raw), id: UUID())
        #expect(throws: LedgerProtocolError.self) { try QueryRequest(after: cursor).validate(maximumLimit: 1_000) }
        let gap = ReportGap(
            id: UUID(), client: "c", reason: .daemonUnreachable, events: 1, firstDropped: LedgerTimestamp(rawValue: raw),
            lastDropped: LedgerTimestamp.latest)
        #expect(throws: LedgerProtocolError.self) { try gap.event() }
    }
}

/// Nothing stored can steer the terminal it is shown on, and identifiers cannot even hold it.
@Suite struct TerminalSafetyTests {
    static let unsafe: [Unicode.Scalar] = ["\u{1B}", "\u{7F}", "\u{85}", "\u{9B}", "\u{202E}", "\u{2066}", "\u{2028}"]

    @Test func identifiersRefuseControlAndBidirectionalCharacters() throws {
        for scalar in Self.unsafe {
            var event = LedgerEvent(id: UUID(), eventType: "job_created", entityType: "job", entityID: "j\(scalar)1")
            #expect(throws: LedgerProtocolError.self, "U+\(String(scalar.value, radix: 16))") { try event.validate() }
            event.entityID = "j"
            event.workerID = "w\(scalar)"
            #expect(throws: LedgerProtocolError.self) { try event.validate() }
        }
        try LedgerEvent(id: UUID(), eventType: "clip_créé", entityType: "vidéo", entityID: "日本-1", workerID: "wörker").validate()
    }

    @Test func quotedTextAndMetadataReachTheTerminalEscapedWithTheSameValue() throws {
        let text = "a" + Self.unsafe.map { String($0) }.joined() + "z é"
        let quoted = JSONText.quote(text)
        #expect(!quoted.unicodeScalars.contains(where: JSONText.isUnsafeForTerminals))
        let back = try JSONSerialization.jsonObject(with: Data("[\(quoted)]".utf8)) as? [String]
        #expect(back == [text])

        // Stored metadata may hold such characters raw inside its strings; printed, they are escapes.
        let metadata = "{\"note\":\"\(Self.unsafe.filter { $0.value > 0x7F }.map { String($0) }.joined())\",\n\t\"n\":1}"
        #expect(JSONObjectValidator.problem(in: metadata) == nil)
        let safe = JSONText.terminalSafe(json: metadata)
        #expect(!safe.unicodeScalars.contains(where: JSONText.isUnsafeForTerminals))
        let sent = try JSONSerialization.jsonObject(with: Data(metadata.utf8)) as? NSDictionary
        let shown = try JSONSerialization.jsonObject(with: Data(safe.utf8)) as? NSDictionary
        #expect(sent == shown && sent != nil)
    }
}
