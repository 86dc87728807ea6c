import NIOCore

/// Where a tail stopped: the commit sequence number of the last event it delivered.
///
/// A tail follows commit order, which is not (timestamp, id) order, so it resumes by
/// the store's commit sequence instead of by `EventCursor`. Opaque to clients; the
/// leading byte versions the layout (2, where query cursors use 1).
public struct TailCursor: Sendable, Hashable {
    static let layoutVersion: UInt8 = 2
    static let encodedLength = 1 + 8

    public var sequence: Int64

    public init(sequence: Int64) {
        self.sequence = sequence
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt16(Self.encodedLength))
        buffer.writeInteger(Self.layoutVersion)
        buffer.writeInteger(self.sequence)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> TailCursor {
        let length = try buffer.ledgerReadInteger(as: UInt16.self, field: "tail cursor length")
        guard var bytes = buffer.readSlice(length: Int(length)) else { throw .malformed("truncated tail cursor") }
        guard length == Self.encodedLength, bytes.readInteger(as: UInt8.self) == Self.layoutVersion,
            let sequence = bytes.readInteger(as: Int64.self), sequence >= 0
        else {
            throw .invalidQuery("tail cursor is not one this daemon issued")
        }
        return TailCursor(sequence: sequence)
    }

    /// Lowercase hex, as `ledger-rpc tail` prints it and `--after` takes it.
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
