/// One rendering of a metadata document, whichever store kept it.
///
/// SQLite returns the text a client sent; PostgreSQL's jsonb returns its own (keys reordered,
/// a space after each `:` and `,`, `\u00e9` as `é`, `1e3` as `1000`). So that an event reads the
/// same from either, the daemon answers with this form: no insignificant whitespace, object keys
/// in byte order (the last of duplicates kept, as jsonb keeps it), strings with only the escapes
/// JSON requires, and numbers in plain decimal as PostgreSQL's numeric prints them.
public enum JSONCanonicalForm {
    /// The canonical text, or nil when `text` is not valid JSON (it is then left as it is).
    public static func render(_ text: String) -> String? {
        var text = text
        return text.withUTF8 { bytes -> String? in
            var reader = Reader(bytes: bytes)
            var output: [UInt8] = []
            output.reserveCapacity(bytes.count)
            guard reader.value(into: &output, depth: 0) else { return nil }
            reader.skipWhitespace()
            guard reader.index == bytes.count else { return nil }
            return String(decoding: output, as: UTF8.self)
        }
    }

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        mutating func skipWhitespace() {
            while self.index < self.bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(self.bytes[self.index]) { self.index += 1 }
        }

        mutating func value(into output: inout [UInt8], depth: Int) -> Bool {
            guard depth <= JSONObjectValidator.maximumDepth else { return false }
            self.skipWhitespace()
            guard self.index < self.bytes.count else { return false }
            switch self.bytes[self.index] {
            case UInt8(ascii: "{"): return self.object(into: &output, depth: depth)
            case UInt8(ascii: "["): return self.array(into: &output, depth: depth)
            case UInt8(ascii: "\""):
                guard let string = self.string() else { return false }
                Self.write(string: string, into: &output)
                return true
            case UInt8(ascii: "t"): return self.literal("true", into: &output)
            case UInt8(ascii: "f"): return self.literal("false", into: &output)
            case UInt8(ascii: "n"): return self.literal("null", into: &output)
            default: return self.number(into: &output)
            }
        }

        mutating func literal(_ word: StaticString, into output: inout [UInt8]) -> Bool {
            let count = word.utf8CodeUnitCount
            guard self.index + count <= self.bytes.count else { return false }
            for offset in 0..<count where self.bytes[self.index + offset] != word.utf8Start[offset] { return false }
            output.append(contentsOf: UnsafeBufferPointer(start: word.utf8Start, count: count))
            self.index += count
            return true
        }

        mutating func object(into output: inout [UInt8], depth: Int) -> Bool {
            self.index += 1
            var members: [(key: [UInt8], value: [UInt8])] = []
            self.skipWhitespace()
            if self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "}") {
                self.index += 1
            } else {
                while true {
                    self.skipWhitespace()
                    guard self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "\""), let key = self.string() else { return false }
                    self.skipWhitespace()
                    guard self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: ":") else { return false }
                    self.index += 1
                    var value: [UInt8] = []
                    guard self.value(into: &value, depth: depth + 1) else { return false }
                    if let existing = members.firstIndex(where: { $0.key == key }) {
                        members[existing].value = value
                    } else {
                        members.append((key, value))
                    }
                    self.skipWhitespace()
                    guard self.index < self.bytes.count else { return false }
                    let next = self.bytes[self.index]
                    self.index += 1
                    if next == UInt8(ascii: "}") { break }
                    guard next == UInt8(ascii: ",") else { return false }
                }
            }
            members.sort { $0.key.lexicographicallyPrecedes($1.key) }
            output.append(UInt8(ascii: "{"))
            for (position, member) in members.enumerated() {
                if position > 0 { output.append(UInt8(ascii: ",")) }
                Self.write(string: member.key, into: &output)
                output.append(UInt8(ascii: ":"))
                output.append(contentsOf: member.value)
            }
            output.append(UInt8(ascii: "}"))
            return true
        }

        mutating func array(into output: inout [UInt8], depth: Int) -> Bool {
            self.index += 1
            output.append(UInt8(ascii: "["))
            self.skipWhitespace()
            if self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "]") {
                self.index += 1
                output.append(UInt8(ascii: "]"))
                return true
            }
            var first = true
            while true {
                if !first { output.append(UInt8(ascii: ",")) }
                first = false
                guard self.value(into: &output, depth: depth + 1) else { return false }
                self.skipWhitespace()
                guard self.index < self.bytes.count else { return false }
                let next = self.bytes[self.index]
                self.index += 1
                if next == UInt8(ascii: "]") { break }
                guard next == UInt8(ascii: ",") else { return false }
            }
            output.append(UInt8(ascii: "]"))
            return true
        }

        /// A string's decoded UTF-8, escapes resolved (surrogate pairs joined).
        mutating func string() -> [UInt8]? {
            self.index += 1
            // Most strings have no escape: their bytes are taken in one copy.
            var end = self.index
            while end < self.bytes.count, self.bytes[end] != UInt8(ascii: "\""), self.bytes[end] != UInt8(ascii: "\\"), self.bytes[end] >= 0x20 { end += 1 }
            var decoded = Array(UnsafeBufferPointer(rebasing: self.bytes[self.index..<end]))
            self.index = end
            while self.index < self.bytes.count {
                let byte = self.bytes[self.index]
                self.index += 1
                if byte == UInt8(ascii: "\"") { return decoded }
                guard byte == UInt8(ascii: "\\") else {
                    guard byte >= 0x20 else { return nil }
                    decoded.append(byte)
                    continue
                }
                guard self.index < self.bytes.count else { return nil }
                let escape = self.bytes[self.index]
                self.index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded.append(escape)
                case UInt8(ascii: "b"): decoded.append(0x08)
                case UInt8(ascii: "f"): decoded.append(0x0C)
                case UInt8(ascii: "n"): decoded.append(0x0A)
                case UInt8(ascii: "r"): decoded.append(0x0D)
                case UInt8(ascii: "t"): decoded.append(0x09)
                case UInt8(ascii: "u"):
                    guard var scalar = self.hex4() else { return nil }
                    if (0xD800..<0xDC00).contains(scalar), self.index + 1 < self.bytes.count,
                        self.bytes[self.index] == UInt8(ascii: "\\"), self.bytes[self.index + 1] == UInt8(ascii: "u")
                    {
                        let mark = self.index
                        self.index += 2
                        if let low = self.hex4(), (0xDC00..<0xE000).contains(low) {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            self.index = mark
                        }
                    }
                    // A lone surrogate cannot be UTF-8: it keeps its escape.
                    guard let unicode = Unicode.Scalar(scalar) else {
                        decoded.append(contentsOf: Array("\\u".utf8) + Self.hex(scalar))
                        continue
                    }
                    decoded.append(contentsOf: Array(String(Character(unicode)).utf8))
                default: return nil
                }
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard self.index + 4 <= self.bytes.count else { return nil }
            var value: UInt32 = 0
            for _ in 0..<4 {
                guard let digit = Self.hexDigit(self.bytes[self.index]) else { return nil }
                value = value << 4 | UInt32(digit)
                self.index += 1
            }
            return value
        }

        static func hexDigit(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
            default: nil
            }
        }

        static func hex(_ value: UInt32) -> [UInt8] {
            let digits = Array("0123456789abcdef".utf8)
            return [12, 8, 4, 0].map { digits[Int((value >> $0) & 0xF)] }
        }

        /// Only `"`, `\` and control characters are escaped (short forms where JSON has them).
        static func write(string: [UInt8], into output: inout [UInt8]) {
            output.append(UInt8(ascii: "\""))
            if !string.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
                output.append(contentsOf: string)
                output.append(UInt8(ascii: "\""))
                return
            }
            for byte in string {
                switch byte {
                case UInt8(ascii: "\""): output.append(contentsOf: Array("\\\"".utf8))
                case UInt8(ascii: "\\"): output.append(contentsOf: Array("\\\\".utf8))
                case 0x08: output.append(contentsOf: Array("\\b".utf8))
                case 0x0C: output.append(contentsOf: Array("\\f".utf8))
                case 0x0A: output.append(contentsOf: Array("\\n".utf8))
                case 0x0D: output.append(contentsOf: Array("\\r".utf8))
                case 0x09: output.append(contentsOf: Array("\\t".utf8))
                case 0..<0x20: output.append(contentsOf: Array("\\u".utf8) + Self.hex(UInt32(byte)))
                default: output.append(byte)
                }
            }
            output.append(UInt8(ascii: "\""))
        }

        /// A number in plain decimal with PostgreSQL numeric's scale: `max(0, fraction digits - exponent)`.
        mutating func number(into output: inout [UInt8]) -> Bool {
            var negative = false
            if self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "-") {
                negative = true
                self.index += 1
            }
            var digits: [UInt8] = []
            while self.index < self.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self.bytes[self.index]) {
                digits.append(self.bytes[self.index])
                self.index += 1
            }
            guard !digits.isEmpty else { return false }
            var fractionDigits = 0
            if self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: ".") {
                self.index += 1
                while self.index < self.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self.bytes[self.index]) {
                    digits.append(self.bytes[self.index])
                    fractionDigits += 1
                    self.index += 1
                }
                guard fractionDigits > 0 else { return false }
            }
            var exponent = 0
            if self.index < self.bytes.count, self.bytes[self.index] | 0x20 == UInt8(ascii: "e") {
                self.index += 1
                var exponentNegative = false
                if self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "+") || self.bytes[self.index] == UInt8(ascii: "-") {
                    exponentNegative = self.bytes[self.index] == UInt8(ascii: "-")
                    self.index += 1
                }
                var seen = false
                while self.index < self.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self.bytes[self.index]) {
                    // The validator bounds exponents long before this could overflow.
                    guard exponent < JSONObjectValidator.exponentLimit else { return false }
                    exponent = exponent * 10 + Int(self.bytes[self.index] - UInt8(ascii: "0"))
                    seen = true
                    self.index += 1
                }
                guard seen else { return false }
                if exponentNegative { exponent = -exponent }
            }
            // The value is digits × 10^(exponent - fractionDigits); print it with scale max(0, fractionDigits - exponent).
            let scale = max(0, fractionDigits - exponent)
            let shift = exponent - fractionDigits + scale
            var all = digits + [UInt8](repeating: UInt8(ascii: "0"), count: max(0, shift))
            if all.count <= scale { all = [UInt8](repeating: UInt8(ascii: "0"), count: scale - all.count + 1) + all }
            var whole = Array(all[..<(all.count - scale)])
            let fraction = all[(all.count - scale)...]
            while whole.count > 1, whole.first == UInt8(ascii: "0") { whole.removeFirst() }
            let isZero = !all.contains { $0 != UInt8(ascii: "0") }
            if negative, !isZero { output.append(UInt8(ascii: "-")) }
            output.append(contentsOf: whole)
            if scale > 0 {
                output.append(UInt8(ascii: "."))
                output.append(contentsOf: fraction)
            }
            return true
        }
    }
}

extension LedgerEvent {
    /// Puts the metadata in `JSONCanonicalForm` (`{}` for none), the form the daemon stores, so that
    /// the store's tree can hash it as it stands.
    public mutating func canonicalizeMetadata() {
        if self.metadata.isEmpty {
            self.metadata = "{}"
        } else if let canonical = JSONCanonicalForm.render(self.metadata) {
            self.metadata = canonical
        }
    }

    /// This event with its metadata in `JSONCanonicalForm`, as the daemon answers with it.
    public var withCanonicalMetadata: LedgerEvent {
        var event = self
        if let canonical = JSONCanonicalForm.render(event.metadata) { event.metadata = canonical }
        return event
    }
}
