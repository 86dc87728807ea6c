import Foundation
import LedgerProtocol

/// The columns of `ledger_events`, in the order every statement names them, described once for
/// SQLite and PostgreSQL: what each holds, how an event fills it, and how a row becomes an event.
enum EventColumns {
    /// The column names, in order; the stores' INSERT, COPY and SELECT statements all list these.
    static let names = [
        "id", "timestamp", "event_type", "entity_type", "entity_id", "event_data", "severity", "worker_id", "job_id", "clip_id",
        "peer_uid", "peer_pid", "seq",
    ]

    static let count = names.count

    /// The names joined for a statement: `id, timestamp, …, seq`, without the sequence when asked.
    static func list(withSequence: Bool = true) -> String {
        (withSequence ? self.names : Array(self.names.dropLast())).joined(separator: ", ")
    }

    /// Hands `writer` the event's columns in order; `sequence` is the commit number, when the store
    /// writes it with the row. Generic, so a store's writer is specialized and no row is boxed.
    static func write(_ event: LedgerEvent, sequence: Int64?, into writer: inout some EventRowWriter) {
        writer.uuid(event.id)
        writer.timestamp(event.timestamp ?? LedgerTimestamp(rawValue: 0))
        writer.text(event.eventType)
        writer.text(event.entityType)
        writer.text(event.entityID)
        writer.json(event.metadata.isEmpty ? "{}" : event.metadata)
        writer.text(event.severity.name)
        writer.text(event.workerID)
        writer.uuid(event.jobID)
        writer.uuid(event.clipID)
        writer.integer(event.peer.map { Int64($0.uid) })
        writer.integer32(event.peer.map(\.pid))
        if let sequence { writer.integer(sequence) }
    }

    /// The event a row holds, its columns read in the order of `names`.
    static func event(from row: some EventRowReader) throws(StoreError) -> LedgerEvent {
        func uuid(_ column: Int) throws(StoreError) -> UUID? {
            guard let text = row.text(column) else { return nil }
            guard let uuid = UUID(text: text) else {
                throw StoreError(code: .queryFailed, message: "stored id \(text) is not a UUID")
            }
            return uuid
        }
        guard let id = try uuid(0), let microseconds = row.integer(1) else {
            throw StoreError(code: .queryFailed, message: "a stored row has no id or timestamp")
        }
        return LedgerEvent(
            id: id,
            timestamp: LedgerTimestamp(rawValue: microseconds),
            eventType: row.text(2) ?? "",
            entityType: row.text(3) ?? "",
            entityID: row.text(4) ?? "",
            metadata: row.text(5) ?? "{}",
            severity: row.text(6).flatMap(Severity.init(name:)) ?? .info,
            workerID: row.text(7),
            jobID: try uuid(8),
            clipID: try uuid(9),
            peer: row.integer(10).map { uid in
                PeerCredentials(uid: UInt32(truncatingIfNeeded: uid), pid: Int32(truncatingIfNeeded: row.integer(11) ?? 0))
            },
            sequence: row.integer(12)
        )
    }
}

/// Where a store puts an event's columns, one call per column in `EventColumns.names` order.
protocol EventRowWriter {
    mutating func uuid(_ value: UUID?)
    mutating func timestamp(_ value: LedgerTimestamp)
    mutating func text(_ value: String?)
    /// The metadata object, as JSON text.
    mutating func json(_ value: String)
    /// A 64-bit column (`bigint`): the peer's uid, the commit sequence.
    mutating func integer(_ value: Int64?)
    /// A 32-bit column (`integer`): the peer's pid.
    mutating func integer32(_ value: Int32?)
}

/// A stored row as a store's driver gives it, by column index in `EventColumns.names` order.
protocol EventRowReader {
    func text(_ column: Int) -> String?
    /// The column as an integer; nil when NULL. The timestamp is in the protocol's microseconds.
    func integer(_ column: Int) -> Int64?
}
