import ArgumentParser
import Foundation
import LedgerClient
import LedgerProtocol

struct Query: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read events from the ledger.",
        discussion: """
            Lists print a table by default; --json prints {"events": [...], "total": N, "limit": L} \
            with the seed's field names, where total is the number of events in the answer. When a \
            page is full, the last line (or "next_cursor" in JSON) gives a cursor: pass it to \
            --after to read the next page.
            """,
        subcommands: [Recent.self, ByType.self, Entity.self, Job.self, Errors.self, Total.self, Gaps.self]
    )
}

/// Options shared by the commands that list events.
struct ListOptions: ParsableArguments {
    @Option(name: .long, help: "Most events to return (1 to 1000).")
    var limit: UInt32 = 50

    @Option(name: .long, help: ArgumentHelp("Continue after this cursor from a previous page.", valueName: "cursor"))
    var after: String?

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    func validate() throws {
        guard (1...1000).contains(self.limit) else { throw ValidationError("--limit must be between 1 and 1000") }
        if let after = self.after, EventCursor(token: after) == nil {
            throw ValidationError("--after \"\(after)\" is not a cursor printed by ledger-rpc")
        }
    }

    func request(_ filter: EventFilter, order: QueryRequest.Order) -> QueryRequest {
        QueryRequest(filter: filter, order: order, limit: self.limit, after: self.after.flatMap(EventCursor.init(token:)))
    }

    func print(_ result: EventsResult) {
        if self.json {
            var text = "{\"events\":[" + result.events.map(\.jsonObject).joined(separator: ",") + "]"
            text += ",\"total\":\(result.events.count),\"limit\":\(self.limit)"
            text += ",\"next_cursor\":" + (result.next.map { JSONText.quote($0.token) } ?? "null") + "}"
            Swift.print(text)
        } else {
            Swift.print(EventTable.render(result.events), terminator: "")
            if let next = result.next {
                Swift.print("more: --after \(next.token)")
            }
        }
    }
}

struct Recent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The most recent events, newest first.")
    @OptionGroup var list: ListOptions
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let request = self.list.request(EventFilter(), order: .newestFirst)
        self.list.print(try await self.connection.run { try await $0.query(request) })
    }
}

struct ByType: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "type", abstract: "Recent events of one type, newest first.")
    @Argument(help: "The event type, such as job_processing_failed.")
    var eventType: String
    @OptionGroup var list: ListOptions
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let request = self.list.request(EventFilter(eventType: self.eventType), order: .newestFirst)
        self.list.print(try await self.connection.run { try await $0.query(request) })
    }
}

struct Entity: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "One entity's timeline, oldest first.")
    @Argument(help: "The entity type, such as video_asset, job or clip.")
    var entityType: String
    @Argument(help: "The entity's id.")
    var entityID: String
    @OptionGroup var list: ListOptions
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let request = self.list.request(EventFilter(entityType: self.entityType, entityID: self.entityID), order: .oldestFirst)
        self.list.print(try await self.connection.run { try await $0.query(request) })
    }
}

struct Job: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Every event of one job, its clips' included, oldest first.")
    @Argument(help: "The job's UUID.")
    var jobID: String
    @OptionGroup var list: ListOptions
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let jobID = try parseUUID(self.jobID, option: "job")
        let request = self.list.request(EventFilter(jobID: jobID), order: .oldestFirst)
        self.list.print(try await self.connection.run { try await $0.query(request) })
    }
}

struct Errors: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "How many ERROR events there have been.")

    @Option(
        name: .long,
        help: ArgumentHelp("Count from this time: a duration back from now (90s, 30m, 24h, 7d) or an ISO-8601 timestamp.", valueName: "when"))
    var since: String?

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let since = try self.since.map { try parseSince($0) }
        let count = try await self.connection.run { try await $0.errorCount(since: since) }
        if self.json {
            print("{\"error_count\":\(count),\"since\":\(since.map { JSONText.quote($0.iso8601) } ?? "null")}")
        } else {
            print(count)
        }
    }
}

struct Total: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "How many events the ledger holds.")

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let count = try await self.connection.run { try await $0.totalCount() }
        print(self.json ? "{\"total\":\(count)}" : String(count))
    }
}

/// `7d`, `24h`, `30m`, `90s` back from now, or an ISO-8601 timestamp.
func parseSince(_ text: String, now: Date = Date()) throws -> LedgerTimestamp {
    if let timestamp = LedgerTimestamp(iso8601: text) { return timestamp }
    let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800]
    if let unit = text.last, let seconds = units[unit], let amount = Int64(text.dropLast()), amount >= 0, amount < 100_000 {
        let nowMicros = Int64(now.timeIntervalSince1970 * 1_000_000)
        return LedgerTimestamp(rawValue: nowMicros - amount * seconds * 1_000_000)
    }
    throw ValidationError("--since \"\(text)\" is neither a duration like 7d, 24h, 30m, 90s nor an ISO-8601 timestamp")
}
