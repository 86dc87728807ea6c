import ArgumentParser
import Foundation
import LedgerClient
import LedgerProtocol

/// `ledger-rpc query gaps`: the events clients dropped, as they reported them.
struct Gaps: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Events that clients dropped and later reported, newest first.",
        discussion: """
            A client that cannot hand an event to the daemon (the daemon unreachable, its own buffer \
            full, or the event refused) drops it and carries on, and tells the daemon when it next \
            reaches it: which client, how many events, from when to when, and why. Each report is a \
            gap record. The count in stats (events_dropped_by_clients) covers this daemon's uptime; \
            the records here are stored and cover all time. Fire-and-forget events already written \
            to the socket when a daemon dies are not counted: only acknowledged logging closes that gap.
            """
    )

    @Option(name: .long, help: ArgumentHelp("Only the gaps one client reported (its client name).", valueName: "name"))
    var client: String?

    @Option(
        name: .long,
        help: ArgumentHelp("Only gaps that began at or after this time: a duration back from now (90s, 30m, 24h, 7d, 2w), a date (2026-11-01) or an ISO-8601 timestamp.",
            valueName: "when"))
    var since: String?

    @OptionGroup var list: ListOptions
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        var filter = EventFilter(eventType: ReportGap.eventType, since: try self.since.map { try parseTime($0) })
        if let client = self.client {
            filter.entityType = ReportGap.entityType
            filter.entityID = client
        }
        let request = self.list.request(filter, order: .newestFirst)
        let (result, total) = try await self.connection.run { client in (try await client.query(request), try await client.count(filter)) }
        let gaps = result.events.map(GapRecord.init(event:))
        if self.list.json {
            // total: gap records matching in all; events_dropped: the events this page's records account for.
            var text = "{\"gaps\":[" + gaps.map(\.jsonObject).joined(separator: ",") + "]"
            text += ",\"total\":\(total),\"limit\":\(self.list.limit),\"events_dropped\":\(gaps.reduce(0) { $0 + $1.events })"
            text += ",\"next_cursor\":" + (result.next.map { JSONText.quote($0.token) } ?? "null") + "}"
            print(text)
            return
        }
        guard !gaps.isEmpty else {
            print("(no gaps)")
            return
        }
        let header = ["FIRST_DROPPED", "LAST_DROPPED", "CLIENT", "PEER", "REASON", "EVENTS"]
        print(EventTable.table(header, gaps.map { $0.cells.map(TerminalText.escaped) }), terminator: "")
        if let next = result.next {
            FileHandle.standardError.write(Data("more: --after \(next.token)\n".utf8))
        }
    }
}

/// A stored gap record read back from its event's fields and metadata.
struct GapRecord {
    var id: UUID
    var client: String
    var reason: String
    var events: Int64
    var firstDropped: String
    var lastDropped: String
    var peer: PeerCredentials?

    init(event: LedgerEvent) {
        let metadata = (try? JSONSerialization.jsonObject(with: Data(event.metadata.utf8))) as? [String: Any] ?? [:]
        self.id = event.id
        self.client = metadata["client"] as? String ?? event.entityID
        self.reason = metadata["reason"] as? String ?? "unknown"
        self.events = (metadata["events"] as? NSNumber)?.int64Value ?? 0
        self.firstDropped = metadata["first_dropped_at"] as? String ?? event.timestamp?.iso8601 ?? "-"
        self.lastDropped = metadata["last_dropped_at"] as? String ?? "-"
        self.peer = event.peer
    }

    var cells: [String] {
        [self.firstDropped, self.lastDropped, self.client, self.peer.map { "uid=\($0.uid),pid=\($0.pid)" } ?? "-", self.reason, String(self.events)]
    }

    var jsonObject: String {
        "{\"id\":\(JSONText.quote(self.id.lowercaseText)),\"client\":\(JSONText.quote(self.client)),"
            + "\"reason\":\(JSONText.quote(self.reason)),\"events\":\(self.events),"
            + "\"first_dropped_at\":\(JSONText.quote(self.firstDropped)),\"last_dropped_at\":\(JSONText.quote(self.lastDropped)),"
            + "\"peer_uid\":\(self.peer.map { String($0.uid) } ?? "null"),\"peer_pid\":\(self.peer.map { String($0.pid) } ?? "null")}"
    }
}
