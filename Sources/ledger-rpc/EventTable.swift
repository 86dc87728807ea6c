import LedgerProtocol

/// Events as fixed-width lines for a terminal: the columns an operator scans first come first.
enum EventTable {
    static func render(_ events: [LedgerEvent]) -> String {
        guard !events.isEmpty else { return "(no events)\n" }
        let header = ["TIMESTAMP", "SEVERITY", "EVENT_TYPE", "ENTITY", "JOB_ID", "WORKER", "PEER", "METADATA"]
        let rows = events.map { event -> [String] in
            [
                event.timestamp?.iso8601 ?? "-",
                event.severity.name,
                event.eventType,
                "\(event.entityType):\(event.entityID)",
                event.jobID?.lowercaseText ?? "-",
                event.workerID ?? "-",
                // The kernel-verified sender, beside the worker id the client claims.
                event.peer.map { "uid=\($0.uid),pid=\($0.pid)" } ?? "-",
                event.metadata.count > 60 ? String(event.metadata.prefix(57)) + "..." : event.metadata,
            ]
        }
        return self.table(header, rows.map { $0.map(TerminalText.escaped) })
    }

    /// Columns as wide as their widest cell; the last column is left unpadded.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ") + "\n"
        }
        return ([header] + rows).map(line).joined()
    }

    /// One event per line for a stream, where columns cannot be sized in advance.
    static func line(_ event: LedgerEvent) -> String {
        var fields = [event.timestamp?.iso8601 ?? "-", event.severity.name.padding(toLength: 5, withPad: " ", startingAt: 0), event.eventType,
            "\(event.entityType):\(event.entityID)"]
        if let jobID = event.jobID { fields.append("job=\(jobID.lowercaseText)") }
        if let workerID = event.workerID { fields.append("worker=\(workerID)") }
        if let peer = event.peer { fields.append("peer=uid=\(peer.uid),pid=\(peer.pid)") }
        fields.append(event.metadata)
        return fields.map(TerminalText.escaped).joined(separator: "  ")
    }
}
