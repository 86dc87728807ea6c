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

extension UUID {
    /// Parses the 36-character form (either case) without Foundation's `sscanf`, which took a
    /// quarter of the time of reading a stored event back; nil for anything else.
    public init?(text: some StringProtocol) {
        var parsed: UUID?
        var utf8 = String(text)
        utf8.withUTF8 { bytes in
            guard bytes.count == 36 else { return }
            var uuid: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            let ok = withUnsafeMutableBytes(of: &uuid) { target -> Bool in
                var index = 0
                for byte in 0..<16 {
                    if byte == 4 || byte == 6 || byte == 8 || byte == 10 {
                        guard bytes[index] == UInt8(ascii: "-") else { return false }
                        index += 1
                    }
                    guard let high = Self.hexValue(bytes[index]), let low = Self.hexValue(bytes[index + 1]) else { return false }
                    target[byte] = high << 4 | low
                    index += 2
                }
                return true
            }
            if ok { parsed = UUID(uuid: uuid) }
        }
        guard let parsed else { return nil }
        self = parsed
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit &- UInt8(ascii: "A") &+ 10
        default: nil
        }
    }
}
