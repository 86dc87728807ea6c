import LedgerProtocol

extension LedgerClient {
    /// Every event that matches `filter`, oldest first, a page at a time and with no cap: what
    /// `ledger-rpc export` streams.
    ///
    /// Each page is one query, so the daemon holds one page at a time and so does the caller; the
    /// cursor of a page's last event (`EventPages.Page.resumeAfter`) resumes after it, on this
    /// daemon or a restarted one, with nothing skipped or repeated.
    public func pages(matching filter: EventFilter = EventFilter(), after: EventCursor? = nil, pageSize: UInt32 = 1_000) -> EventPages {
        EventPages(client: self, filter: filter, after: after, pageSize: pageSize)
    }
}

/// The pages of an export, in (timestamp, id) order; ends after the last page.
public struct EventPages: AsyncSequence, Sendable {
    public struct Page: Sendable {
        public var events: [LedgerEvent]
        /// Where to resume after this page: the cursor of its last event.
        public var resumeAfter: EventCursor?
    }

    let client: LedgerClient
    let filter: EventFilter
    let after: EventCursor?
    let pageSize: UInt32

    public func makeAsyncIterator() -> Iterator {
        Iterator(pages: self, cursor: self.after)
    }

    public struct Iterator: AsyncIteratorProtocol {
        let pages: EventPages
        var cursor: EventCursor?
        var finished = false

        public mutating func next() async throws -> Page? {
            guard !self.finished else { return nil }
            let result = try await self.pages.client.query(
                QueryRequest(filter: self.pages.filter, order: .oldestFirst, limit: self.pages.pageSize, after: self.cursor))
            // A page's last event is where the next begins; the daemon's next cursor says whether there is one.
            if let last = result.events.last, let timestamp = last.timestamp {
                self.cursor = EventCursor(timestamp: timestamp, id: last.id)
            }
            self.finished = result.next == nil
            guard !result.events.isEmpty else { return nil }
            return Page(events: result.events, resumeAfter: self.cursor)
        }
    }
}
