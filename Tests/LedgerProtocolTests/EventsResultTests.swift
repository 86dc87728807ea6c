import Foundation
import LedgerProtocol
import NIOCore
import Testing

@Suite struct EventsResultTests {
    static func page(events: Int, metadataBytes: Int) -> EventsResult {
        let metadata = #"{"pad":""# + String(repeating: "x", count: metadataBytes) + #""}"#
        let events = (0..<events).map { index in
            LedgerEvent(
                id: UUID(), timestamp: LedgerTimestamp(rawValue: 1_000 - Int64(index)), eventType: "clip_created",
                entityType: "clip", entityID: "c-\(index)", metadata: metadata)
        }
        return EventsResult(events: events, next: nil)
    }

    @Test func aPageOverTheByteLimitIsCutWithACursorToItsLastEvent() {
        let page = Self.page(events: 100, metadataBytes: 60_000)
        let cut = page.truncated(toEncodedBytes: 1 << 20)
        var encoded = ByteBuffer()
        cut.encode(into: &encoded)
        #expect(encoded.readableBytes <= 1 << 20)
        #expect(cut.events.count > 1 && cut.events.count < 100)
        #expect(cut.events == Array(page.events.prefix(cut.events.count)))
        let last = cut.events[cut.events.count - 1]
        #expect(cut.next == EventCursor(timestamp: last.timestamp!, id: last.id))
    }

    @Test func aPageWithinTheLimitIsUnchanged() {
        let page = Self.page(events: 10, metadataBytes: 100)
        #expect(page.truncated(toEncodedBytes: 1 << 20) == page)
    }

    @Test func oneEventIsKeptEvenWhenItAloneIsOverTheLimit() {
        let page = Self.page(events: 3, metadataBytes: 60_000)
        let cut = page.truncated(toEncodedBytes: 1_000)
        #expect(cut.events.count == 1)
        #expect(cut.next?.id == page.events[0].id)
    }
}
