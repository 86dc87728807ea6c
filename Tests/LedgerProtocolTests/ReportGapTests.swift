import Foundation
import LedgerProtocol
import Testing

@Suite struct ReportGapTests {
    @Test func aGapIsStoredAsAWarningAboutTheClientTimestampedAtItsFirstDrop() throws {
        let event = try Fixtures.gap.event()
        #expect(event.id == Fixtures.gap.id)
        #expect(event.eventType == "ledger_gap")
        #expect(event.entityType == "ledger_client")
        #expect(event.entityID == "upload-service")
        #expect(event.severity == .warn)
        #expect(event.timestamp == Fixtures.timestamp)
        try event.validate()
        let metadata = try #require(try JSONSerialization.jsonObject(with: Data(event.metadata.utf8)) as? [String: Any])
        #expect(metadata["client"] as? String == "upload-service")
        #expect(metadata["reason"] as? String == "daemon_unreachable")
        #expect(metadata["events"] as? Int == 120)
        #expect(metadata["first_dropped_at"] as? String == "2026-11-25T10:15:30.123456Z")
        #expect(metadata["last_dropped_at"] as? String == "2026-11-25T10:15:35.123456Z")
    }

    @Test func aClientNameIsQuotedIntoTheMetadata() throws {
        var gap = Fixtures.gap
        gap.client = "svc \"a\" \\ b"
        let event = try gap.event()
        try event.validate()
        let metadata = try #require(try JSONSerialization.jsonObject(with: Data(event.metadata.utf8)) as? [String: Any])
        #expect(metadata["client"] as? String == gap.client)
    }

    @Test(arguments: [
        (ReportGap.Reason(rawValue: 9), UInt64(1), Int64(0), "client", "reason 9"),
        (.bufferFull, 0, 0, "client", "at least one"),
        (.rejected, 1, -1, "client", "is after last_dropped"),
        (.daemonUnreachable, 1, 0, "", "needs a client name"),
    ])
    func aReportThatDescribesNoGapIsRefused(reason: ReportGap.Reason, events: UInt64, skew: Int64, client: String, message: String) {
        var gap = Fixtures.gap
        gap.reason = reason
        gap.events = events
        gap.client = client
        gap.lastDropped = LedgerTimestamp(rawValue: gap.firstDropped.rawValue + skew)
        let error = #expect(throws: LedgerProtocolError.self) { try gap.event() }
        #expect(error?.code == .invalidEvent)
        #expect(error?.message.contains(message) == true)
    }

    @Test func everyReasonHasAStoredName() {
        #expect(ReportGap.Reason.all.map(\.name) == ["daemon_unreachable", "buffer_full", "rejected"])
        #expect(ReportGap.Reason(rawValue: 200).name == nil)
    }
}
