import Foundation
import NIOCore

// Field encodings shared by every message; PROTOCOL.md "Field encodings" is their spec.
extension ByteBuffer {
    /// Writes the 16 raw bytes of a UUID, most significant first.
    public mutating func ledgerWriteUUID(_ uuid: UUID) {
        withUnsafeBytes(of: uuid.uuid) { _ = self.writeBytes($0) }
    }

    public mutating func ledgerReadUUID() throws(LedgerProtocolError) -> UUID {
        // Loaded in place: reading the bytes out first would allocate an array for every id.
        guard self.readableBytes >= 16 else { throw .malformed("truncated UUID") }
        let uuid = self.withUnsafeReadableBytes { $0.loadUnaligned(as: uuid_t.self) }
        self.moveReaderIndex(forwardBy: 16)
        return UUID(uuid: uuid)
    }

    /// Writes a string as a u16 big-endian byte count and its UTF-8 bytes.
    ///
    /// Strings longer than 65,535 bytes cannot be encoded; validation keeps every
    /// string field far below that, and the encoder truncates rather than corrupt the frame.
    public mutating func ledgerWriteString16(_ string: String) {
        let utf8 = string.utf8
        let count = min(utf8.count, Int(UInt16.max))
        self.writeInteger(UInt16(count))
        if count == utf8.count {
            self.writeString(string)
        } else {
            self.writeBytes(utf8.prefix(count))
        }
    }

    /// Reads a u16-length string; invalid UTF-8 is reported with the field's name.
    public mutating func ledgerReadString16(field: String) throws(LedgerProtocolError) -> String {
        guard let length = self.readInteger(as: UInt16.self) else { throw .malformed("truncated length of \(field)") }
        return try self.ledgerReadUTF8(length: Int(length), field: field)
    }

    /// Writes a string as a u32 big-endian byte count and its UTF-8 bytes (used for metadata).
    public mutating func ledgerWriteString32(_ string: String) {
        self.writeInteger(UInt32(string.utf8.count))
        self.writeString(string)
    }

    public mutating func ledgerReadString32(field: String) throws(LedgerProtocolError) -> String {
        guard let length = self.readInteger(as: UInt32.self) else { throw .malformed("truncated length of \(field)") }
        return try self.ledgerReadUTF8(length: Int(length), field: field)
    }

    private mutating func ledgerReadUTF8(length: Int, field: String) throws(LedgerProtocolError) -> String {
        guard self.readableBytes >= length else {
            throw .malformed("\(field) claims \(length) bytes but the frame ends first")
        }
        // Read in place: a slice would retain and release the buffer's storage for every field.
        let string: String? = self.withUnsafeReadableBytes { raw in
            let bytes = UnsafeBufferPointer(rebasing: raw.bindMemory(to: UInt8.self)[..<length])
            // ASCII, the usual case, is valid UTF-8 as it stands; only the rest needs the full check.
            return Self.isASCII(bytes) ? String(decoding: bytes, as: UTF8.self) : String(validating: bytes, as: UTF8.self)
        }
        guard let string else {
            throw .invalidEvent("\(field) is not valid UTF-8")
        }
        self.moveReaderIndex(forwardBy: length)
        return string
    }

    private static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        let count = bytes.count
        guard let base = bytes.baseAddress else { return true }
        while index + 8 <= count {
            if UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return false }
            index += 8
        }
        while index < count {
            if base[index] >= 0x80 { return false }
            index += 1
        }
        return true
    }

    /// Writes a presence byte (0 absent, 1 present) and, when present, the value.
    public mutating func ledgerWriteOptional<Value>(_ value: Value?, _ write: (inout ByteBuffer, Value) -> Void) {
        if let value {
            self.writeInteger(UInt8(1))
            write(&self, value)
        } else {
            self.writeInteger(UInt8(0))
        }
    }

    public mutating func ledgerReadOptional<Value>(
        field: String,
        _ read: (inout ByteBuffer) throws(LedgerProtocolError) -> Value
    ) throws(LedgerProtocolError) -> Value? {
        guard let tag = self.readInteger(as: UInt8.self) else { throw .malformed("truncated presence byte of \(field)") }
        switch tag {
        case 0: return nil
        case 1: return try read(&self)
        default: throw .malformed("presence byte of \(field) is \(tag), expected 0 or 1")
        }
    }

    public mutating func ledgerReadInteger<Value: FixedWidthInteger>(
        as: Value.Type = Value.self,
        field: String
    ) throws(LedgerProtocolError) -> Value {
        guard let value = self.readInteger(as: Value.self) else { throw .malformed("truncated \(field)") }
        return value
    }

    public mutating func ledgerWriteTimestamp(_ timestamp: LedgerTimestamp) {
        self.writeInteger(timestamp.rawValue)
    }

    public mutating func ledgerReadTimestamp(field: String) throws(LedgerProtocolError) -> LedgerTimestamp {
        LedgerTimestamp(rawValue: try self.ledgerReadInteger(as: Int64.self, field: field))
    }

    public mutating func ledgerReadSeverity(field: String = "severity") throws(LedgerProtocolError) -> Severity {
        let raw = try self.ledgerReadInteger(as: UInt8.self, field: field)
        guard let severity = Severity(rawValue: raw) else {
            throw .invalidEvent("\(field) is \(raw), expected 0 (INFO), 1 (WARN) or 2 (ERROR)")
        }
        return severity
    }

    /// Payload decoders call this last: bytes left over mean the peer and the daemon disagree on the layout.
    public func ledgerExpectEnd(of message: String) throws(LedgerProtocolError) {
        guard self.readableBytes == 0 else {
            throw .malformed("\(self.readableBytes) unexpected bytes after the \(message) payload")
        }
    }
}

extension ByteBuffer {
    /// A cursor's token (exactly `length` bytes as hex, no spaces) as the length-prefixed bytes its
    /// `decode` reads; nil for anything else.
    static func ledgerCursorBytes(_ token: String, length: Int) -> ByteBuffer? {
        guard token.utf8.count == length * 2, !token.utf8.contains(UInt8(ascii: " ")) else { return nil }
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt16(length))
        guard (try? buffer.writePlainHexEncodedBytes(token)) == length else { return nil }
        return buffer
    }
}
