import ArgumentParser
import Foundation
import LedgerClient
import LedgerProtocol

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write every matching event, oldest first, for analysis elsewhere.",
        discussion: """
            Streams the whole history (or what the filters select) to standard output, a page \
            at a time, with no cap on how many: the daemon and ledger-rpc each hold one page, so \
            memory stays flat however large the ledger. Events come in (timestamp, id) order, \
            the order of query events --oldest-first.

            When it ends, and when it stops early (the daemon went away, --max-events), the \
            cursor of the last event written is printed on standard error as `last: --after \
            CURSOR`: run the same export with it to continue, with nothing skipped or repeated. \
            On a terminal, progress is shown on standard error as it goes.

            Formats: ndjson (one JSON object per line, the fields of --json), csv (RFC 4180 with \
            a header row; metadata is its JSON text, fields are exactly as stored) and json (one \
            array).
            """)

    @OptionGroup var filters: FilterOptions

    @Option(name: .long, help: ArgumentHelp("ndjson, csv or json.", valueName: "format"))
    var format: String = "ndjson"

    @Option(name: .long, help: ArgumentHelp("Continue after this cursor, printed by an earlier export as last: --after CURSOR.", valueName: "cursor"))
    var after: String?

    @Option(name: .long, help: ArgumentHelp("Stop after this many events (default: all of them).", valueName: "n"))
    var maxEvents: Int?

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard ExportFormat(rawValue: self.format) != nil else {
            throw ValidationError("--format \"\(self.format)\" is not one of \(ExportFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let after = self.after, EventCursor(token: after) == nil {
            throw ValidationError(CursorText.problem(after, option: "--after", expected: .page))
        }
        if let maxEvents = self.maxEvents, maxEvents < 1 { throw ValidationError("--max-events \(maxEvents) is out of range: give 1 or more") }
    }

    func run() async throws {
        let format = ExportFormat(rawValue: self.format) ?? .ndjson
        let filter = try self.filters.filter()
        var progress = ExportProgress(cursor: self.after.flatMap(EventCursor.init(token:)), limit: self.maxEvents ?? Int.max)
        let output = FileHandle.standardOutput
        output.write(Data(format.header.utf8))
        let client = self.connection.client()
        var failure: LedgerClientError?
        do {
            progress.expected = progress.showsProgress ? try? await client.count(filter) : nil
            for try await page in client.pages(matching: filter, after: progress.cursor) {
                let events = page.events.prefix(progress.limit - progress.written)
                var text = ""
                for event in events {
                    text += format.piece(event, first: progress.written == 0 && text.isEmpty)
                }
                output.write(Data(text.utf8))
                progress.advance(by: events.count, to: events.count == page.events.count ? page.resumeAfter : events.last.flatMap(Self.cursor))
                if progress.written >= progress.limit { break }
            }
        } catch let error as LedgerClientError {
            failure = error
        }
        await client.shutdown()
        output.write(Data(format.footer(empty: progress.written == 0).utf8))
        progress.finish(stopped: failure)
        if failure != nil { throw ExitCode.failure }
    }

    static func cursor(_ event: LedgerEvent) -> EventCursor? {
        event.timestamp.map { EventCursor(timestamp: $0, id: event.id) }
    }
}

/// What an export has written and where it would resume, shown on standard error.
struct ExportProgress {
    var cursor: EventCursor?
    let limit: Int
    var written = 0
    var expected: UInt64?
    /// Progress lines only for a person watching: standard error is a terminal and not CI.
    let showsProgress = isatty(STDERR_FILENO) == 1

    init(cursor: EventCursor?, limit: Int) {
        self.cursor = cursor
        self.limit = limit
    }

    mutating func advance(by count: Int, to cursor: EventCursor?) {
        self.written += count
        if let cursor { self.cursor = cursor }
        guard self.showsProgress else { return }
        let total = self.expected.map { " of \($0)" } ?? ""
        FileHandle.standardError.write(Data("\rexported \(self.written)\(total) events".utf8))
    }

    func finish(stopped failure: LedgerClientError?) {
        if self.showsProgress { FileHandle.standardError.write(Data("\n".utf8)) }
        let resume = self.cursor.map { "; last: --after \($0.token)" } ?? ""
        if let failure {
            printError("export stopped after \(self.written) events: \(failure.message)\(resume)")
        } else {
            FileHandle.standardError.write(Data("exported \(self.written) events\(resume)\n".utf8))
        }
    }
}
