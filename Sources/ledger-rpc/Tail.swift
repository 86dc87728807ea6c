import ArgumentParser
import Foundation
import LedgerClient
import LedgerProtocol

struct Tail: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print events as they are committed, like journalctl -f.",
        discussion: """
            Streams every committed event that matches the filters, in commit order, until \
            interrupted. Works over the socket and over --connect tls://... alike. A reader \
            that falls behind is skipped ahead by the daemon; the number of events it missed \
            is reported on standard error, and `ledger-rpc query` can fetch them.

            With -n N it first shows the last N matching events, oldest of them first; with \
            --since it first shows every matching event from that time on (with both, the last N \
            of those). Then it follows. The replay stops at the newest commit when it began and \
            the follow resumes exactly there, so an event committed meanwhile is shown once, \
            after the replay.

            When the daemon goes away (a restart, a network cut), tail says so on standard \
            error, reconnects with back-off (0.2 s doubling to 5 s) and resumes after the last \
            event it printed, with nothing skipped or repeated; with --no-reconnect it exits 1 \
            instead. A refusal that a retry cannot mend (a bad certificate, a filter the daemon \
            refuses) exits 1 at once.
            """)

    @OptionGroup var filters: FilterOptions

    @Option(name: [.customShort("n"), .long], help: ArgumentHelp("First show the last N matching events (0 to \(Self.mostLines)), then follow.", valueName: "n"))
    var lines: Int?

    @Option(
        name: .long,
        help: ArgumentHelp("Resume after this cursor (from --show-cursor or a JSON line's tail_cursor): events committed since come first.", valueName: "cursor"))
    var after: String?

    @Flag(name: .long, help: "After each group of lines, print the cursor to resume from, as `-- cursor: ...`.")
    var showCursor = false

    @Option(name: .long, help: ArgumentHelp("Stop after this many events (default: run until interrupted).", valueName: "n"))
    var maxEvents: Int?

    @Flag(name: .long, help: "Print one JSON object per event and line, with the field names of the Python ledger (ledger.py) it replaces.")
    var json = false

    @Flag(name: [.long, .customLong("no-truncate")], help: "Show metadata whole instead of cutting it at 60 characters.")
    var wide = false

    @Flag(name: .long, help: "Exit 1 when the daemon goes away, instead of reconnecting and resuming.")
    var noReconnect = false

    @OptionGroup var connection: ConnectionOptions

    /// -n holds the events it shows in memory before printing them oldest first, so it is bounded.
    static let mostLines = 10_000
    static let firstBackoff: Duration = .milliseconds(200)
    static let longestBackoff: Duration = .seconds(5)

    func validate() throws {
        if self.filters.until != nil {
            throw ValidationError("tail follows what is committed from now on and takes no --until; list a closed window with `ledger-rpc query events --since ... --until ...`")
        }
        if let lines = self.lines, !(0...Self.mostLines).contains(lines) {
            throw ValidationError("-n \(lines) is out of range: give 0 to \(Self.mostLines)")
        }
        if self.after != nil, self.lines != nil || self.filters.since != nil {
            throw ValidationError("--after resumes where an earlier tail stopped, and -n and --since start from the past; give one of them")
        }
        if let maxEvents = self.maxEvents, maxEvents < 1 { throw ValidationError("--max-events \(maxEvents) is out of range: give 1 or more") }
        if let after = self.after, TailCursor(token: after) == nil {
            throw ValidationError(CursorText.problem(after, option: "--after", expected: .tail))
        }
    }

    func run() async throws {
        let filter = try self.filters.filter()
        let client = self.connection.client()
        var progress = Progress(cursor: self.after.flatMap(TailCursor.init(token:)), remaining: self.maxEvents ?? Int.max)
        if self.lines != nil || filter.since != nil {
            do {
                try await self.replay(filter, client: client, progress: &progress)
            } catch let error as LedgerClientError {
                printError(error.message)
                throw ExitCode.failure
            }
            if progress.remaining == 0 { return }
        }
        var backoff = Self.firstBackoff
        var outage: String?
        while true {
            let reason: String
            do {
                for try await batch in client.tail(filter, after: progress.cursor) {
                    if outage != nil {
                        printError("reconnected to ledgerd; resuming after the last event shown")
                        outage = nil
                    }
                    backoff = Self.firstBackoff
                    self.show(batch, progress: &progress)
                    if progress.remaining == 0 { return }
                }
                reason = "ledgerd closed the tail"
            } catch let error as LedgerClientError {
                guard Self.mayRetry(error) else {
                    printError(error.message)
                    throw ExitCode.failure
                }
                reason = error.message
            }
            if self.noReconnect {
                printError("\(reason); not reconnecting (--no-reconnect)")
                throw ExitCode.failure
            }
            if outage == nil {
                printError("\(reason); reconnecting, and resuming after the last event shown")
                outage = reason
            }
            try await Task.sleep(for: backoff)
            backoff = min(backoff * 2, Self.longestBackoff)
        }
    }

    /// Shows the past the options ask for and leaves `progress` at the commit the follow resumes after.
    ///
    /// The bound is the newest commit when the replay begins, read from a tail's first (empty)
    /// batch: the replay shows only events committed up to it, and the follow starts after it, so
    /// nothing is shown twice and nothing committed meanwhile is missed.
    private func replay(_ filter: EventFilter, client: LedgerClient, progress: inout Progress) async throws {
        var bound: TailCursor?
        for try await batch in client.tail(filter) {
            bound = batch.next
            break
        }
        // A store that cannot name its newest commit leaves the bound open: the follow then resumes
        // after the newest event shown.
        func admitted(_ event: LedgerEvent) -> Bool {
            guard let bound, let sequence = event.sequence else { return true }
            return sequence <= bound.sequence
        }
        var newestShown = bound
        func note(_ events: [LedgerEvent]) {
            guard bound == nil, let newest = events.compactMap(\.sequence).max() else { return }
            newestShown = TailCursor(sequence: max(newest, newestShown?.sequence ?? newest))
        }
        if let lines = self.lines {
            var kept: [LedgerEvent] = []
            var after: EventCursor?
            while kept.count < lines {
                let page = try await client.query(
                    QueryRequest(filter: filter, order: .newestFirst, limit: UInt32(min(lines - kept.count, 1_000)), after: after))
                kept += page.events.filter(admitted)
                guard let next = page.next else { break }
                after = next
            }
            let shown = Array(kept.prefix(lines).reversed())
            note(shown)
            self.show(TailBatch(events: shown, next: nil), progress: &progress, replaying: true)
        } else {
            for try await page in client.pages(matching: filter) {
                let shown = page.events.filter(admitted)
                note(shown)
                self.show(TailBatch(events: shown, next: nil), progress: &progress, replaying: true)
                if progress.remaining == 0 { break }
            }
        }
        progress.cursor = newestShown
        if self.showCursor, !self.json, let newestShown {
            FileHandle.standardOutput.write(Data("-- cursor: \(newestShown.token)\n".utf8))
        }
    }

    /// Where the tail stands: what to resume after, how many more events to show, whether the header is out.
    struct Progress {
        var cursor: TailCursor?
        var remaining: Int
        var printedHeader = false
    }

    /// Prints a batch; a replayed one is in time order, so its events' cursors are not where to resume.
    private func show(_ batch: TailBatch, progress: inout Progress, replaying: Bool = false) {
        if batch.missed > 0 {
            printError("missed \(batch.missed) events while reading too slowly")
        }
        let events = batch.events.prefix(progress.remaining)
        progress.remaining -= events.count
        // A batch cut short by --max-events resumes after its last shown event, not the batch's end.
        progress.cursor = events.count == batch.events.count ? (batch.next ?? progress.cursor) : (events.last?.tailCursor ?? progress.cursor)
        var text = ""
        if !self.json, !progress.printedHeader, !events.isEmpty {
            text += EventTable.streamHeader
            progress.printedHeader = true
        }
        text += events.map { self.json ? $0.jsonObject + "\n" : EventTable.streamLine($0, wide: self.wide) }.joined()
        if self.showCursor, !self.json, !replaying, let cursor = events.last?.tailCursor {
            text += "-- cursor: \(cursor.token)\n"
        }
        // Written straight to the descriptor, so a pipe sees each event as it lands.
        if !text.isEmpty { FileHandle.standardOutput.write(Data(text.utf8)) }
    }

    /// A daemon that is away comes back; a certificate or a filter it refuses does not.
    static func mayRetry(_ error: LedgerClientError) -> Bool {
        switch error.code {
        case .unreachable, .connectionClosed, .timeout: return true
        case .rejected: return error.serverError?.code == .shuttingDown || error.serverError?.code == .storeUnavailable
        default: return false
        }
    }
}
