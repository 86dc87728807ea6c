import ArgumentParser
import Foundation
import LedgerFiles
import LedgerProtocol

struct Generate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Writes benchmark events as CSV rows for loading straight into a store.",
        discussion: """
            The rows are the ones ingest sends, in the column order of the ledger_events table, \
            so that the store's own bulk load (sqlite3 .import, psql \\copy) can be timed on the \
            same data as a reference. With --format sqlite timestamps are microseconds and seq is \
            numbered from --first-seq; with --format postgres timestamps are ISO 8601 and seq is \
            left to its default. An empty unquoted field is NULL.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case sqlite, postgres
    }

    @Option(name: .long, help: "Rows to write.")
    var events: Int

    @Option(name: .long, help: "Column layout: sqlite or postgres.")
    var format: Format

    @Option(name: .long, help: ArgumentHelp("Approximate size of each event's metadata JSON.", valueName: "bytes"))
    var payload = 100

    @Option(name: .long, help: "The seq of the first row, with --format sqlite.")
    var firstSeq: Int64 = 1

    @Option(name: .long, help: ArgumentHelp("Spread the events evenly over this many days up to now (default: one microsecond apart).", valueName: "days"))
    var spanDays: Int?

    func validate() throws {
        guard self.events >= 1 else { throw ValidationError("--events must be at least 1, got \(self.events)") }
        if let days = self.spanDays, !(1...3_650).contains(days) { throw ValidationError("--span-days \(days) is out of range: give 1 to 3650") }
    }

    func run() throws {
        var generator = SyntheticEvents(payloadBytes: self.payload, workerID: "bench-load")
        let peerUID = getuid()
        let peerPID = getpid()
        var out: [UInt8] = []
        out.reserveCapacity(1 << 21)
        let span = self.spanDays.map { Int64($0) * 86_400_000_000 } ?? Int64(self.events)
        let start = LedgerTimestamp.now().rawValue - (self.spanDays == nil ? 0 : span)
        let step = max(1, span / Int64(self.events))
        for index in 0..<self.events {
            let event = generator.next(at: LedgerTimestamp(rawValue: start + Int64(index) * step))
            let timestamp = event.timestamp!
            Self.field(event.id.lowercaseText, into: &out)
            out.append(UInt8(ascii: ","))
            Self.field(self.format == .sqlite ? String(timestamp.rawValue) : timestamp.iso8601, into: &out)
            for value in [event.eventType, event.entityType, event.entityID, event.metadata, event.severity.name] {
                out.append(UInt8(ascii: ","))
                Self.field(value, into: &out)
            }
            for value in [event.workerID, event.jobID?.lowercaseText, event.clipID?.lowercaseText, String(peerUID), String(peerPID)] {
                out.append(UInt8(ascii: ","))
                if let value { Self.field(value, into: &out) }
            }
            if self.format == .sqlite {
                out.append(UInt8(ascii: ","))
                out.append(contentsOf: String(self.firstSeq + Int64(index)).utf8)
            }
            out.append(UInt8(ascii: "\n"))
            if out.count >= 1 << 20 {
                FileHandle.standardOutput.write(Data(out))
                out.removeAll(keepingCapacity: true)
            }
        }
        FileHandle.standardOutput.write(Data(out))
    }

    /// A CSV field, quoted when it holds a comma, a quote or a newline (quotes doubled).
    static func field(_ value: String, into out: inout [UInt8]) {
        let bytes = value.utf8
        guard bytes.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") }) else {
            out.append(contentsOf: bytes)
            return
        }
        out.append(UInt8(ascii: "\""))
        for byte in bytes {
            if byte == UInt8(ascii: "\"") { out.append(byte) }
            out.append(byte)
        }
        out.append(UInt8(ascii: "\""))
    }
}
