import LedgerProtocol
import Testing

@Suite struct LedgerTimestampTests {
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000000Z"),
        (1_795_774_530_123_456, "2026-11-27T10:15:30.123456Z"),
        (951_782_400_000_001, "2000-02-29T00:00:00.000001Z"),
        (-1, "1969-12-31T23:59:59.999999Z"),
    ])
    func formatsAndParses(micros: Int64, text: String) {
        let timestamp = LedgerTimestamp(rawValue: micros)
        #expect(timestamp.iso8601 == text)
        #expect(LedgerTimestamp(iso8601: text) == timestamp)
    }

    @Test func parsesShorterFormsAndOffsets() {
        #expect(LedgerTimestamp(iso8601: "2026-11-25T10:15:30Z")?.iso8601 == "2026-11-25T10:15:30.000000Z")
        #expect(LedgerTimestamp(iso8601: "2026-11-25T10:15:30.5Z")?.iso8601 == "2026-11-25T10:15:30.500000Z")
        #expect(LedgerTimestamp(iso8601: "2026-11-25T12:15:30+02:00")?.iso8601 == "2026-11-25T10:15:30.000000Z")
    }

    @Test(arguments: ["", "2026-11-25", "2026-13-01T00:00:00Z", "2026-11-25T10:15:30", "yesterday", "2026-11-25T10:15:30.Z"])
    func rejectsMalformed(text: String) {
        #expect(LedgerTimestamp(iso8601: text) == nil)
    }
}
