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
            """)

    @Option(name: .long, help: ArgumentHelp("Only this event type.", valueName: "type"))
    var type: String?

    @Option(name: .long, help: ArgumentHelp("Only this job's events.", valueName: "uuid"))
    var job: String?

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Only this entity's events.", valueName: "type id"))
    var entity: [String] = []

    @Option(name: .long, help: ArgumentHelp("Only this severity: INFO, WARN or ERROR.", valueName: "severity"))
    var severity: String?

    @Option(
        name: .long,
        help: ArgumentHelp("Resume after this cursor (from --show-cursor or a JSON line's tail_cursor): events committed since come first.", valueName: "cursor"))
    var after: String?

    @Flag(name: .long, help: "After each group of lines, print the cursor to resume from, as `-- cursor: ...`.")
    var showCursor = false

    @Option(name: .long, help: ArgumentHelp("Stop after this many events (default: run until interrupted).", valueName: "n"))
    var maxEvents: Int?

    @Flag(name: .long, help: "Print one JSON object per event and line, with the seed's field names.")
    var json = false

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard self.entity.isEmpty || self.entity.count == 2 else { throw ValidationError("--entity takes TYPE and ID") }
        if let maxEvents = self.maxEvents, maxEvents < 1 { throw ValidationError("--max-events must be 1 or more") }
        if let after = self.after, TailCursor(token: after) == nil {
            throw ValidationError("--after \"\(after)\" is not a tail cursor printed by ledger-rpc tail")
        }
        if let severity = self.severity, Severity(name: severity.uppercased()) == nil {
            throw ValidationError("--severity \"\(severity)\" is not INFO, WARN or ERROR")
        }
    }

    func run() async throws {
        var filter = EventFilter()
        filter.eventType = self.type
        filter.jobID = try self.job.map { try parseUUID($0, option: "job") }
        if self.entity.count == 2 {
            filter.entityType = self.entity[0]
            filter.entityID = self.entity[1]
        }
        filter.severity = self.severity.flatMap { Severity(name: $0.uppercased()) }
        let client = self.connection.client()
        var remaining = self.maxEvents ?? Int.max
        do {
            for try await batch in client.tail(filter, after: self.after.flatMap(TailCursor.init(token:))) {
                if batch.missed > 0 {
                    FileHandle.standardError.write(Data("ledger-rpc: missed \(batch.missed) events while reading too slowly\n".utf8))
                }
                // Written straight to the descriptor, so a pipe sees each event as it lands.
                let events = batch.events.prefix(remaining)
                remaining -= events.count
                var text = events.map { (self.json ? $0.jsonObject : EventTable.line($0)) + "\n" }.joined()
                if self.showCursor, !self.json, let cursor = events.last?.tailCursor {
                    text += "-- cursor: \(cursor.token)\n"
                }
                if !text.isEmpty { FileHandle.standardOutput.write(Data(text.utf8)) }
                if remaining == 0 { break }
            }
        } catch let error as LedgerClientError {
            FileHandle.standardError.write(Data("ledger-rpc: \(TerminalText.escaped(error.message))\n".utf8))
            throw ExitCode.failure
        }
    }
}
