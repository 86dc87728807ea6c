import Foundation
import LedgerProtocol

/// How `export` writes events: each format a header, one piece per event, and a footer, so a
/// page is written as it arrives and nothing is held back.
enum ExportFormat: String, CaseIterable {
    /// One JSON object per line, the fields of `--json`.
    case ndjson
    /// RFC 4180: a header row, CRLF line ends, fields quoted when they hold a comma, quote or line break.
    case csv
    /// One JSON array of the same objects as ndjson.
    case json

    static let csvColumns = [
        "id", "timestamp", "event_type", "entity_type", "entity_id", "metadata", "severity", "worker_id", "job_id", "clip_id",
        "peer_uid", "peer_pid", "tail_cursor",
    ]

    var header: String {
        switch self {
        case .ndjson: ""
        case .csv: Self.csvColumns.joined(separator: ",") + "\r\n"
        case .json: "["
        }
    }

    /// One event; `first` says whether it opens the output, for the JSON array's commas.
    func piece(_ event: LedgerEvent, first: Bool) -> String {
        switch self {
        case .ndjson: event.jsonObject + "\n"
        case .json: (first ? "\n" : ",\n") + event.jsonObject
        case .csv: Self.csvRow(event)
        }
    }

    func footer(empty: Bool) -> String {
        switch self {
        case .ndjson, .csv: ""
        case .json: empty ? "]\n" : "\n]\n"
        }
    }

    /// The row of one event: text exactly as stored (metadata as its JSON text), absent fields empty.
    static func csvRow(_ event: LedgerEvent) -> String {
        let fields: [String?] = [
            event.id.lowercaseText, event.timestamp?.iso8601, event.eventType, event.entityType, event.entityID,
            event.metadata.isEmpty ? "{}" : event.metadata, event.severity.name, event.workerID, event.jobID?.lowercaseText,
            event.clipID?.lowercaseText, event.peer.map { String($0.uid) }, event.peer.map { String($0.pid) }, event.tailCursor?.token,
        ]
        return fields.map { Self.csvField($0 ?? "") }.joined(separator: ",") + "\r\n"
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
