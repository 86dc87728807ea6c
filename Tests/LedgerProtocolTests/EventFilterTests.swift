import Foundation
import LedgerProtocol
import NIOCore
import Testing

/// The in-memory filter that live tails use must agree with the stores' WHERE clause.
@Suite struct EventFilterTests {
    static let job = UUID()
    static let event = LedgerEvent(
        id: UUID(), timestamp: LedgerTimestamp(rawValue: 5_000), eventType: "job_processing_failed", entityType: "job",
        entityID: "j-1", severity: .error, workerID: "w-1", jobID: job)

    @Test(arguments: [
        (EventFilter(), true),
        (EventFilter(eventType: "job_processing_failed"), true),
        (EventFilter(eventType: "job_created"), false),
        (EventFilter(entityType: "job", entityID: "j-1"), true),
        (EventFilter(entityType: "job", entityID: "j-2"), false),
        (EventFilter(jobID: job), true),
        (EventFilter(jobID: UUID()), false),
        (EventFilter(clipID: UUID()), false),
        (EventFilter(severity: .error), true),
        (EventFilter(severity: .warn), false),
        (EventFilter(severities: [.warn, .error]), true),
        (EventFilter(severities: [.info, .warn]), false),
        (EventFilter(workerID: "w-2"), false),
        (EventFilter(since: LedgerTimestamp(rawValue: 5_000)), true),
        (EventFilter(since: LedgerTimestamp(rawValue: 5_001)), false),
        (EventFilter(until: LedgerTimestamp(rawValue: 5_000)), false),
        (EventFilter(until: LedgerTimestamp(rawValue: 5_001)), true),
    ])
    func matchesLikeTheStores(filter: EventFilter, expected: Bool) {
        #expect(filter.matches(Self.event) == expected)
    }

    /// Every byte value: 0-2 and 0x80 with a non-empty mask of bits 0-2 are severities, all else is refused,
    /// and what decodes encodes back to the same byte.
    @Test func severityBytesRoundTripOrAreRefused() throws {
        for byte in UInt8.min...UInt8.max {
            var buffer = ByteBuffer()
            EventFilter().encode(into: &buffer)
            // The severity field is the sixth presence byte; replace "absent" with this value.
            var bytes = Array(buffer.readableBytesView)
            bytes.replaceSubrange(5..<6, with: [1, byte])
            var input = ByteBuffer(bytes: bytes)
            let valid = byte <= 2 || (byte & 0x80 != 0 && byte & 0x78 == 0 && byte & 0x07 != 0)
            if !valid {
                #expect(throws: LedgerProtocolError.self, "byte \(byte)") { _ = try EventFilter.decode(from: &input) }
                continue
            }
            let filter = try EventFilter.decode(from: &input)
            let severities = try #require(filter.severities)
            var reencoded = ByteBuffer()
            filter.encode(into: &reencoded)
            let expectedByte = severities.single.map(\.rawValue) ?? byte
            #expect(Array(reencoded.readableBytesView)[6] == expectedByte, "byte \(byte)")
            #expect(severities.members.count == (byte <= 2 ? 1 : (byte & 0x07).nonzeroBitCount))
        }
    }

    @Test func aFloorAdmitsItselfAndWhatIsWorse() {
        #expect(SeveritySet.atLeast(.info) == .all)
        #expect(SeveritySet.atLeast(.warn) == [.warn, .error])
        #expect(SeveritySet.atLeast(.error) == .error)
        #expect(SeveritySet([.error, .info]).description == "INFO,ERROR")
    }

    @Test func anEmptySetIsRefusedBeforeItIsSent() {
        #expect(throws: LedgerProtocolError.self) { try EventFilter(severities: []).validate() }
    }
}
