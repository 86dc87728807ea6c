import Foundation
import LedgerProtocol
import Testing

@testable import LedgerStore

/// The one description of `ledger_events`' columns both stores write and read through.
@Suite struct EventColumnsTests {
    /// Records each column as text, as a store's writer would receive it.
    struct Recorder: EventRowWriter {
        var values: [String] = []
        mutating func uuid(_ value: UUID?) { self.values.append(value?.lowercaseText ?? "NULL") }
        mutating func timestamp(_ value: LedgerTimestamp) { self.values.append("\(value.rawValue)") }
        mutating func text(_ value: String?) { self.values.append(value ?? "NULL") }
        mutating func json(_ value: String) { self.values.append(value) }
        mutating func integer(_ value: Int64?) { self.values.append(value.map { "\($0)" } ?? "NULL") }
        mutating func integer32(_ value: Int32?) { self.values.append(value.map { "i32:\($0)" } ?? "NULL") }
    }

    struct Row: EventRowReader {
        var values: [String?]
        func text(_ column: Int) -> String? { self.values[column] }
        func integer(_ column: Int) -> Int64? { self.values[column].flatMap { Int64($0) } }
    }

    static let event = LedgerEvent(
        id: UUID(uuidString: "018f0c6a-9e3b-7d4c-8e9f-2a1d2e3f4a5b")!, timestamp: LedgerTimestamp(rawValue: 1_700_000_000_123_456),
        eventType: "job_failed", entityType: "job", entityID: "j-1", metadata: "", severity: .error, workerID: "w-2",
        jobID: UUID(uuidString: "018f0c6a-9e3b-7d4c-8e9f-2a1d2e3f4a5c")!, clipID: nil, peer: PeerCredentials(uid: 1001, pid: 4242))

    @Test func anEventFillsEveryColumnInTheOrderTheStatementsNameThem() {
        var recorder = Recorder()
        EventColumns.write(Self.event, sequence: 77, into: &recorder)
        #expect(recorder.values.count == EventColumns.count)
        #expect(
            recorder.values == [
                "018f0c6a-9e3b-7d4c-8e9f-2a1d2e3f4a5b", "1700000000123456", "job_failed", "job", "j-1", "{}", "ERROR", "w-2",
                "018f0c6a-9e3b-7d4c-8e9f-2a1d2e3f4a5c", "NULL", "1001", "i32:4242", "77",
            ])
        var unnumbered = Recorder()
        EventColumns.write(Self.event, sequence: nil, into: &unnumbered)
        #expect(unnumbered.values == Array(recorder.values.dropLast()), "without a sequence the last column is left out")
        #expect(EventColumns.list(withSequence: false) + ", seq" == EventColumns.list())
    }

    @Test func aRowReadsBackAsTheSameEvent() throws {
        var recorder = Recorder()
        EventColumns.write(Self.event, sequence: 77, into: &recorder)
        let row = Row(values: recorder.values.map { $0 == "NULL" ? nil : $0.replacingOccurrences(of: "i32:", with: "") })
        var expected = Self.event
        expected.metadata = "{}"
        expected.sequence = 77
        #expect(try EventColumns.event(from: row) == expected)
    }

    @Test func aStoredIDThatIsNotAUUIDIsAnError() {
        var values: [String?] = Array(repeating: nil, count: EventColumns.count)
        values[0] = "not-a-uuid"
        values[1] = "1"
        #expect(throws: StoreError.self) { try EventColumns.event(from: Row(values: values)) }
        values[0] = nil
        #expect(throws: StoreError.self) { try EventColumns.event(from: Row(values: values)) }
    }
}
