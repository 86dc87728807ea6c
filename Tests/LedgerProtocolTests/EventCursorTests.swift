import LedgerProtocol
import Testing

@Suite struct EventCursorTests {
    @Test func tokenRoundTrips() throws {
        let cursor = EventCursor(timestamp: Fixtures.timestamp, id: Fixtures.eventID)
        #expect(cursor.token.count == 50)
        #expect(EventCursor(token: cursor.token) == cursor)
        #expect(EventCursor(token: cursor.token.uppercased()) == cursor)
    }

    @Test(arguments: ["", "zz", String(repeating: "0", count: 50), String(repeating: "0", count: 48)])
    func rejectsForeignTokens(token: String) {
        #expect(EventCursor(token: token) == nil)
    }
}
