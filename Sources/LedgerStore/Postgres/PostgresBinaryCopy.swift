import Foundation
import LedgerProtocol
import NIOCore

/// Rows in PostgreSQL's binary `COPY` format.
///
/// COPY is PostgreSQL's bulk-load path; in binary form the server receives ids, times and
/// numbers as the bytes it stores instead of parsing their text.
/// See https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4.
struct PostgresBinaryCopy {
    private(set) var buffer: ByteBuffer

    /// Microseconds from the Unix epoch to PostgreSQL's, 2000-01-01 00:00:00 UTC.
    static let postgresEpochOffset: Int64 = 946_684_800_000_000

    init(capacity: Int) {
        self.buffer = ByteBufferAllocator().buffer(capacity: capacity)
        self.buffer.writeBytes(Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00])
        self.buffer.writeInteger(Int32(0))  // flags: no OIDs
        self.buffer.writeInteger(Int32(0))  // header extension length
    }

    mutating func startRow(fields: Int16) {
        self.buffer.writeInteger(fields)
    }

    mutating func appendNull() {
        self.buffer.writeInteger(Int32(-1))
    }

    mutating func append(_ uuid: UUID?) {
        guard let uuid else { return self.appendNull() }
        self.buffer.writeInteger(Int32(16))
        self.buffer.ledgerWriteUUID(uuid)
    }

    /// Text, varchar and enum labels all travel as their UTF-8 bytes.
    mutating func append(_ text: String?) {
        guard let text else { return self.appendNull() }
        self.buffer.writeInteger(Int32(text.utf8.count))
        self.buffer.writeString(text)
    }

    /// jsonb's binary form is a version byte before the JSON text.
    mutating func append(jsonb text: String) {
        self.buffer.writeInteger(Int32(text.utf8.count + 1))
        self.buffer.writeInteger(UInt8(1))
        self.buffer.writeString(text)
    }

    /// timestamptz is microseconds since PostgreSQL's epoch.
    mutating func append(_ timestamp: LedgerTimestamp) {
        self.append(timestamp.rawValue - Self.postgresEpochOffset)
    }

    /// bigint and integer are their big-endian bytes.
    mutating func append<Value: FixedWidthInteger>(_ value: Value?) {
        guard let value else { return self.appendNull() }
        self.buffer.writeInteger(Int32(MemoryLayout<Value>.size))
        self.buffer.writeInteger(value)
    }

    /// The trailer that tells the server no row follows.
    mutating func finish() -> ByteBuffer {
        self.buffer.writeInteger(Int16(-1))
        return self.buffer
    }
}
