import ArgumentParser
import Foundation
import LedgerClient
import LedgerProtocol

struct Query: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read events from the ledger.",
        discussion: """
            Lists print a table by default. With --json they print \
            {"events": [...], "total": N, "limit": L, "next_cursor": C} with the field names of the Python ledger (ledger.py) it replaces, \
            where total is how many events match the query in all (not only on this page). When \
            there is a next page, its cursor is "next_cursor" in JSON, and otherwise a line \
            `more: --after CURSOR` on standard error: pass it to --after for the next page.

            Every listing takes the same filters (--type, --entity TYPE ID, --job, --clip, \
            --severity, --worker, --since, --until), each narrowing what it lists; a filter that \
            contradicts the listing's own argument (query type A --type B) is refused.

            Times (--since, --until) are read as journalctl reads them: a span back from now \
            (90s, 30m, 24h, 7d, 2w, 1h30m, "2d ago"), now, today, yesterday, a date (2026-11-01, \
            midnight), a date and time (2026-11-01 08:00, 2026-11-01T08:00:00.5) or @SECONDS \
            since the epoch. A date or time without a zone is local time (TZ); add Z, UTC or an \
            offset (+02:00) to say otherwise. Tables and JSON print times in UTC.
            """,
        subcommands: [Recent.self, Events.self, ByType.self, Entity.self, Job.self, Errors.self, Total.self, Gaps.self]
    )
}

/// Options shared by the commands that list events.
struct ListOptions: ParsableArguments {
    @Option(name: .long, help: "Most events to return (1 to 1000).")
    var limit: Int = 50

    @Option(name: .long, help: ArgumentHelp("Continue after this cursor, printed with the previous page (more: --after ...).", valueName: "cursor"))
    var after: String?

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    @Flag(name: [.long, .customLong("no-truncate")], help: "Show metadata whole instead of cutting it at 60 characters.")
    var wide = false

    func validate() throws {
        guard (1...1000).contains(self.limit) else { throw ValidationError("--limit \(self.limit) is out of range: give 1 to 1000") }
        if let after = self.after, EventCursor(token: after) == nil {
            throw ValidationError(CursorText.problem(after, option: "--after", expected: .page))
        }
    }

    func request(_ filter: EventFilter, order: QueryRequest.Order) -> QueryRequest {
        QueryRequest(filter: filter, order: order, limit: UInt32(self.limit), after: self.after.flatMap(EventCursor.init(token:)))
    }

    /// Fetches the page and, beside it, how many events match in all.
    func run(_ filter: EventFilter, order: QueryRequest.Order, connection: ConnectionOptions) async throws {
        let request = self.request(filter, order: order)
        let (result, total) = try await connection.run { client in
            (try await client.query(request), try await client.count(filter))
        }
        self.print(result, total: total)
    }

    /// - Parameter total: how many match in all, when the listing can count them.
    func print(_ result: EventsResult, total: UInt64?) {
        if self.json {
            var text = "{\"events\":[" + result.events.map(\.jsonObject).joined(separator: ",") + "]"
            text += ",\"total\":\(total.map(String.init) ?? "null"),\"limit\":\(self.limit)"
            text += ",\"next_cursor\":" + (result.next.map { JSONText.quote($0.token) } ?? "null") + "}"
            Swift.print(text)
            return
        }
        Swift.print(EventTable.render(result.events, wide: self.wide), terminator: "")
        if let next = result.next {
            // Standard error, so a pipe of the table holds only events.
            FileHandle.standardError.write(Data("more: --after \(next.token)\n".utf8))
        }
    }
}

struct Recent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The most recent events, newest first.")
    @OptionGroup var filters: FilterOptions
    @OptionGroup var list: ListOptions
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await self.list.run(try self.filters.filter(), order: .newestFirst, connection: self.connection)
    }
}

struct Events: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Events matching every filter given, newest first (--oldest-first for the other way).",
        discussion: """
            Every filter narrows: `ledger-rpc query events --type job_processing_failed --worker w-3 --since 24h` \
            lists the jobs worker w-3 failed in the last day. With no filter it is `query recent`.
            """)
    @Flag(name: .long, help: "Oldest first instead of newest first.")
    var oldestFirst = false
    @OptionGroup var filters: FilterOptions
    @OptionGroup var list: ListOptions
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await self.list.run(try self.filters.filter(), order: self.oldestFirst ? .oldestFirst : .newestFirst, connection: self.connection)
    }
}

struct ByType: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "type", abstract: "Recent events of one type, newest first.")
    @Argument(help: "The event type, such as job_processing_failed.")
    var eventType: String
    @OptionGroup var filters: FilterOptions
    @OptionGroup var list: ListOptions
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let filter = try self.filters.filter(with: EventFilter(eventType: self.eventType), named: "the type")
        try await self.list.run(filter, order: .newestFirst, connection: self.connection)
    }
}

struct Entity: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "One entity's timeline, oldest first.")
    @Argument(help: "The entity type, such as video_asset, job or clip.")
    var entityType: String
    @Argument(help: "The entity's id.")
    var entityID: String
    @OptionGroup var filters: FilterOptions
    @OptionGroup var list: ListOptions
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let filter = try self.filters.filter(with: EventFilter(entityType: self.entityType, entityID: self.entityID), named: "the entity")
        try await self.list.run(filter, order: .oldestFirst, connection: self.connection)
    }
}

struct Job: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Every event of one job, its clips' included, oldest first.")
    @Argument(help: "The job's UUID.")
    var jobID: String
    @OptionGroup var filters: FilterOptions
    @OptionGroup var list: ListOptions
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        _ = try parseUUID(self.jobID, option: "the job id")
    }

    func run() async throws {
        let filter = try self.filters.filter(with: EventFilter(jobID: try parseUUID(self.jobID, option: "the job id")), named: "the job id")
        try await self.list.run(filter, order: .oldestFirst, connection: self.connection)
    }
}

struct Errors: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "ERROR events, newest first; with --count, how many there are.")

    @Flag(name: .long, help: "Print only the number of ERROR events that match (with --json, {\"error_count\": N, \"since\": ...}).")
    var count = false

    @OptionGroup var filters: FilterOptions
    @OptionGroup var list: ListOptions
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let filter = try self.filters.filter(with: EventFilter(severity: .error), named: "errors")
        guard self.count else {
            try await self.list.run(filter, order: .newestFirst, connection: self.connection)
            return
        }
        let count = try await self.connection.run { try await $0.count(filter) }
        if self.list.json {
            print("{\"error_count\":\(count),\"since\":\(filter.since.map { JSONText.quote($0.iso8601) } ?? "null")}")
        } else {
            print(count)
        }
    }
}

struct Total: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "How many events the ledger holds (a bare number, for scripts).")

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let count = try await self.connection.run { try await $0.totalCount() }
        print(self.json ? "{\"total\":\(count)}" : String(count))
    }
}

/// Which command a cursor belongs to, so one given to the wrong command says where it goes.
enum CursorText {
    enum Kind { case page, tail }

    static func problem(_ token: String, option: String, expected: Kind) -> String {
        switch expected {
        case .page where TailCursor(token: token) != nil:
            return "\(option) \(token) is a tail cursor (from ledger-rpc tail); it resumes a tail: ledger-rpc tail --after \(token)"
        case .tail where EventCursor(token: token) != nil:
            return "\(option) \(token) is a page cursor (from a query's more: --after); it pages on that query, not a tail"
        case .page:
            return "\(option) \"\(token)\" is not a cursor: give the one a query printed (more: --after ..., or next_cursor in JSON)"
        case .tail:
            return "\(option) \"\(token)\" is not a tail cursor: give one ledger-rpc tail printed (--show-cursor, or tail_cursor in --json)"
        }
    }
}
