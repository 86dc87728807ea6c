import Foundation
import NIOCore

/// Where a page of results stopped: the (timestamp, id) of its last event.
///
/// Events are ordered by (timestamp, id), a total order, so resuming strictly
/// after the cursor neither skips nor repeats an event, whatever arrives in between.
/// Clients treat the bytes as opaque; the leading byte versions the layout.
public struct EventCursor: Sendable, Hashable {
    static let layoutVersion: UInt8 = 1
    static let encodedLength = 1 + 8 + 16

    public var timestamp: LedgerTimestamp
    public var id: UUID

    public init(timestamp: LedgerTimestamp, id: UUID) {
        self.timestamp = timestamp
        self.id = id
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt16(Self.encodedLength))
        buffer.writeInteger(Self.layoutVersion)
        buffer.ledgerWriteTimestamp(self.timestamp)
        buffer.ledgerWriteUUID(self.id)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> EventCursor {
        let length = try buffer.ledgerReadInteger(as: UInt16.self, field: "cursor length")
        guard var bytes = buffer.readSlice(length: Int(length)) else { throw .malformed("truncated cursor") }
        guard length == Self.encodedLength, bytes.readInteger(as: UInt8.self) == Self.layoutVersion else {
            throw .invalidQuery("cursor is not one this daemon issued")
        }
        let timestamp = try bytes.ledgerReadTimestamp(field: "cursor")
        let id = try bytes.ledgerReadUUID()
        return EventCursor(timestamp: timestamp, id: id)
    }

    /// The cursor as printable text (lowercase hex), for command lines and JSON.
    public var token: String {
        var buffer = ByteBuffer()
        self.encode(into: &buffer)
        buffer.moveReaderIndex(forwardBy: 2)
        return buffer.hexDump(format: .compact)
    }

    public init?(token: String) {
        guard var bytes = ByteBuffer.ledgerCursorBytes(token, length: Self.encodedLength), let cursor = try? Self.decode(from: &bytes) else {
            return nil
        }
        self = cursor
    }
}
