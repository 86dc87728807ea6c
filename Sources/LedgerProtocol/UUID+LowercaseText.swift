import Foundation

extension UUID {
    /// The canonical lowercase form, the one the stores key on.
    ///
    /// `uuidString.lowercased()` formats through `snprintf` and allocates twice; the
    /// stores format three ids per event, so this writes the 36 bytes directly.
    public var lowercaseText: String {
        String(unsafeUninitializedCapacity: 36) { buffer in
            self.writeLowercaseText(into: UnsafeMutableRawBufferPointer(buffer))
            return 36
        }
    }

    /// Calls `body` with the 36 bytes of the canonical lowercase form, without allocating.
    public func withLowercaseText<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try withUnsafeTemporaryAllocation(byteCount: 36, alignment: 1) { buffer in
            self.writeLowercaseText(into: buffer)
            return try body(UnsafeRawBufferPointer(buffer))
        }
    }

    private func writeLowercaseText(into buffer: UnsafeMutableRawBufferPointer) {
        let digits: StaticString = "0123456789abcdef"
        withUnsafeBytes(of: self.uuid) { bytes in
            digits.withUTF8Buffer { digits in
                var out = 0
                for index in 0..<16 {
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        buffer[out] = UInt8(ascii: "-")
                        out += 1
                    }
                    buffer[out] = digits[Int(bytes[index] >> 4)]
                    buffer[out + 1] = digits[Int(bytes[index] & 0x0F)]
                    out += 2
                }
            }
        }
    }
}
