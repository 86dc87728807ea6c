import LedgerProtocol

/// Events as fixed-width lines for a terminal: the columns an operator scans first come first.
///
/// `query` and `tail` print the same columns under the same header; a query sizes them to its
/// page, a tail (which cannot know its events in advance) to typical widths, letting a longer
/// cell push its line out rather than cutting it.
enum EventTable {
    static let header = ["TIMESTAMP", "SEVERITY", "EVENT_TYPE", "ENTITY", "JOB_ID", "WORKER", "PEER", "METADATA"]
    /// A tail's column widths: a microsecond timestamp, a UUID, and room for common types and ids.
    static let streamWidths = [27, 8, 24, 24, 36, 10, 18]
    /// Metadata longer than this is cut (with `...`) unless `--wide` is given.
    static let metadataWidth = 60

    static func render(_ events: [LedgerEvent], wide: Bool = false) -> String {
        guard !events.isEmpty else { return "(no events)\n" }
        return self.table(self.header, events.map { self.cells($0, wide: wide) })
    }

    /// One event's cells, escaped for the terminal.
    static func cells(_ event: LedgerEvent, wide: Bool) -> [String] {
        let metadata = event.metadata
        return [
            event.timestamp?.iso8601 ?? "-",
            event.severity.name,
            event.eventType,
            "\(event.entityType):\(event.entityID)",
            event.jobID?.lowercaseText ?? "-",
            event.workerID ?? "-",
            // The kernel-verified sender, beside the worker id the client claims.
            event.peer.map { "uid=\($0.uid),pid=\($0.pid)" } ?? "-",
            !wide && metadata.count > self.metadataWidth ? String(metadata.prefix(self.metadataWidth - 3)) + "..." : metadata,
        ].map(TerminalText.escaped)
    }

    /// Columns as wide as their widest cell; the last column is left unpadded.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        return ([header] + rows).map { self.line($0, widths: widths) }.joined()
    }

    /// A tail's header, printed once before its first event.
    static var streamHeader: String { self.line(self.header, widths: self.streamWidths) }

    /// A tail's line for one event.
    static func streamLine(_ event: LedgerEvent, wide: Bool) -> String {
        self.line(self.cells(event, wide: wide), widths: self.streamWidths)
    }

    private static func line(_ cells: [String], widths: [Int]) -> String {
        cells.enumerated().map { index, cell in
            index == cells.count - 1 || index >= widths.count ? cell : cell.padding(toLength: max(widths[index], cell.count), withPad: " ", startingAt: 0)
        }.joined(separator: "  ") + "\n"
    }
}
