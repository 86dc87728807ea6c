import Foundation

/// Lays fields out as PROTOCOL.md's field encodings into bytes already reserved in a ByteBuffer.
///
/// Each ByteBuffer write checks uniqueness, exclusivity and capacity; a message with many small
/// fields reserves its exact length once and fills it through this instead.
struct ReservedFieldWriter {
    private let bytes: UnsafeMutableRawBufferPointer
    private(set) var written = 0

    init(_ bytes: UnsafeMutableRawBufferPointer) {
        self.bytes = bytes
    }

    mutating func integer<Value: FixedWidthInteger>(_ value: Value) {
        self.bytes.storeBytes(of: value.bigEndian, toByteOffset: self.written, as: Value.self)
        self.written += MemoryLayout<Value>.size
    }

    mutating func uuid(_ uuid: UUID) {
        withUnsafeBytes(of: uuid.uuid) { raw in
            UnsafeMutableRawBufferPointer(rebasing: self.bytes[self.written..<self.written + 16]).copyMemory(from: raw)
        }
        self.written += 16
    }

    /// A presence byte and, when present, the id.
    mutating func optionalUUID(_ uuid: UUID?) {
        guard let uuid else {
            self.integer(UInt8(0))
            return
        }
        self.integer(UInt8(1))
        self.uuid(uuid)
    }

    /// The first `count` UTF-8 bytes of the string, with no length in front.
    mutating func utf8(_ string: String, count: Int) {
        let target = UnsafeMutableRawBufferPointer(rebasing: self.bytes[self.written..<self.written + count])
        let copied: Void? = string.utf8.withContiguousStorageIfAvailable { source in
            target.copyMemory(from: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(source)[..<count]))
        }
        if copied == nil {
            for (index, byte) in string.utf8.prefix(count).enumerated() {
                target[index] = byte
            }
        }
        self.written += count
    }
}
