/// A strict RFC 8259 syntax check that the text is exactly one JSON object.
///
/// Metadata is stored as text (SQLite) or jsonb (PostgreSQL); checking it here,
/// before it is queued, turns a bad document into an error for that request
/// instead of a failed batch. It builds nothing, so it costs one pass over the bytes.
public enum JSONObjectValidator {
    /// Nesting deeper than this is refused so hostile input cannot exhaust the stack.
    public static let maximumDepth = 64

    /// Most digits after the decimal point a number may have, as written or implied by its exponent:
    /// PostgreSQL's numeric keeps no more (`1e-16384` and `0e-16384` are refused there).
    public static let maximumFractionDigits = 16_383
    /// Exponents from here on are refused by PostgreSQL whatever the digits (even `0e1073741823`).
    public static let exponentLimit = 1_073_741_823

    /// Returns nil when `text` is a JSON object, otherwise what is wrong and where.
    ///
    /// - Parameter maximumPlainBytes: when set, the most bytes the document may take with every
    ///   number written out in plain decimal, as PostgreSQL's jsonb keeps and returns it: `1e60000`
    ///   is 7 bytes sent but 60,001 stored.
    public static func problem(in text: String, maximumPlainBytes: Int? = nil) -> String? {
        var text = text
        return text.withUTF8 { bytes in
            var parser = Parser(bytes: bytes)
            if let problem = parser.validateDocument() { return problem }
            if let maximumPlainBytes {
                let plain = bytes.count + parser.plainGrowth
                if plain > maximumPlainBytes {
                    return "with its numbers written out in full it is \(plain) bytes, the limit is \(maximumPlainBytes)"
                }
            }
            return nil
        }
    }

    /// The length of a number written in plain decimal, as PostgreSQL's numeric prints it, from its parts.
    ///
    /// - Parameters:
    ///   - integerDigits: digits before the point as written; `fractionDigits` after it.
    ///   - firstNonZero: the index of the first non-zero digit among all of them, nil when the number is zero.
    static func plainLength(negative: Bool, integerDigits: Int, fractionDigits: Int, firstNonZero: Int?, exponent: Int) -> Int {
        let scale = max(0, fractionDigits - exponent)
        // The power of ten of the leading digit; a zero prints as one digit whatever its exponent.
        let wholeDigits = firstNonZero.map { max(1, integerDigits - $0 + exponent) } ?? 1
        // Minus zero prints as zero.
        return (negative && firstNonZero != nil ? 1 : 0) + wholeDigits + (scale > 0 ? 1 + scale : 0)
    }

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0
        /// What writing every number out in plain decimal adds to the document's length (or takes from it).
        var plainGrowth = 0

        init(bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
        }

        mutating func validateDocument() -> String? {
            self.skipWhitespace()
            guard self.index < self.bytes.count else { return "empty document" }
            guard self.bytes[self.index] == UInt8(ascii: "{") else { return "top level is not an object" }
            if let problem = self.value(depth: 0) { return problem }
            self.skipWhitespace()
            return self.index == self.bytes.count ? nil : "unexpected data at byte \(self.index)"
        }

        mutating func skipWhitespace() {
            while self.index < self.bytes.count {
                switch self.bytes[self.index] {
                case 0x20, 0x09, 0x0A, 0x0D: self.index += 1
                default: return
                }
            }
        }

        func failure(_ what: String) -> String {
            "\(what) at byte \(self.index)"
        }

        mutating func value(depth: Int) -> String? {
            self.skipWhitespace()
            guard self.index < self.bytes.count else { return self.failure("unexpected end") }
            switch self.bytes[self.index] {
            case UInt8(ascii: "{"): return self.object(depth: depth + 1)
            case UInt8(ascii: "["): return self.array(depth: depth + 1)
            case UInt8(ascii: "\""): return self.string()
            case UInt8(ascii: "t"): return self.literal("true")
            case UInt8(ascii: "f"): return self.literal("false")
            case UInt8(ascii: "n"): return self.literal("null")
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return self.number()
            default: return self.failure("unexpected character")
            }
        }

        mutating func object(depth: Int) -> String? {
            guard depth <= JSONObjectValidator.maximumDepth else { return self.failure("nesting too deep") }
            self.index += 1
            self.skipWhitespace()
            if self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "}") {
                self.index += 1
                return nil
            }
            while true {
                self.skipWhitespace()
                guard self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "\"") else {
                    return self.failure("expected a string key")
                }
                if let problem = self.string() { return problem }
                self.skipWhitespace()
                guard self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: ":") else {
                    return self.failure("expected ':'")
                }
                self.index += 1
                if let problem = self.value(depth: depth) { return problem }
                self.skipWhitespace()
                guard self.index < self.bytes.count else { return self.failure("unterminated object") }
                switch self.bytes[self.index] {
                case UInt8(ascii: ","): self.index += 1
                case UInt8(ascii: "}"):
                    self.index += 1
                    return nil
                default: return self.failure("expected ',' or '}'")
                }
            }
        }

        mutating func array(depth: Int) -> String? {
            guard depth <= JSONObjectValidator.maximumDepth else { return self.failure("nesting too deep") }
            self.index += 1
            self.skipWhitespace()
            if self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "]") {
                self.index += 1
                return nil
            }
            while true {
                if let problem = self.value(depth: depth) { return problem }
                self.skipWhitespace()
                guard self.index < self.bytes.count else { return self.failure("unterminated array") }
                switch self.bytes[self.index] {
                case UInt8(ascii: ","): self.index += 1
                case UInt8(ascii: "]"):
                    self.index += 1
                    return nil
                default: return self.failure("expected ',' or ']'")
                }
            }
        }

        mutating func string() -> String? {
            self.index += 1
            while self.index < self.bytes.count {
                let byte = self.bytes[self.index]
                switch byte {
                case UInt8(ascii: "\""):
                    self.index += 1
                    return nil
                case UInt8(ascii: "\\"):
                    self.index += 1
                    guard self.index < self.bytes.count else { return self.failure("unterminated escape") }
                    switch self.bytes[self.index] {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                        UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        self.index += 1
                    case UInt8(ascii: "u"):
                        // Both stores must accept what is valid here, and PostgreSQL's jsonb refuses
                        // \u0000 and unpaired surrogates, so they are refused up front.
                        guard let unit = self.codeUnit(at: self.index + 1) else { return self.failure("bad \\u escape") }
                        self.index += 5
                        switch unit {
                        case 0:
                            return self.failure("\\u0000 is not allowed in strings")
                        case 0xD800...0xDBFF:
                            guard self.index + 1 < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "\\"),
                                self.bytes[self.index + 1] == UInt8(ascii: "u"),
                                let low = self.codeUnit(at: self.index + 2), (0xDC00...0xDFFF).contains(low)
                            else { return self.failure("unpaired surrogate in \\u escape") }
                            self.index += 6
                        case 0xDC00...0xDFFF:
                            return self.failure("unpaired surrogate in \\u escape")
                        default:
                            break
                        }
                    default: return self.failure("bad escape")
                    }
                case 0x00..<0x20:
                    return self.failure("control character in string")
                default:
                    self.index += 1
                }
            }
            return self.failure("unterminated string")
        }

        /// The UTF-16 code unit spelled by the four hex digits at `start`, or nil when they are not four hex digits.
        func codeUnit(at start: Int) -> UInt16? {
            guard start + 4 <= self.bytes.count else { return nil }
            var value: UInt16 = 0
            for byte in self.bytes[start..<start + 4] {
                guard Self.isHexDigit(byte) else { return nil }
                let digit = byte <= UInt8(ascii: "9") ? byte - UInt8(ascii: "0") : (byte | 0x20) - UInt8(ascii: "a") + 10
                value = value << 4 | UInt16(digit)
            }
            return value
        }

        static func isHexDigit(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"),
                UInt8(ascii: "A")...UInt8(ascii: "F"): true
            default: false
            }
        }

        mutating func literal(_ word: StaticString) -> String? {
            let count = word.utf8CodeUnitCount
            guard self.index + count <= self.bytes.count else { return self.failure("unexpected end") }
            for offset in 0..<count where self.bytes[self.index + offset] != word.utf8Start[offset] {
                return self.failure("unexpected character")
            }
            self.index += count
            return nil
        }

        mutating func digits() -> Int {
            let start = self.index
            while self.index < self.bytes.count, self.bytes[self.index] >= UInt8(ascii: "0"),
                self.bytes[self.index] <= UInt8(ascii: "9")
            {
                self.index += 1
            }
            return self.index - start
        }

        mutating func number() -> String? {
            let start = self.index
            let negative = self.bytes[self.index] == UInt8(ascii: "-")
            if negative { self.index += 1 }
            guard self.index < self.bytes.count else { return self.failure("truncated number") }
            var integerDigits = 1
            if self.bytes[self.index] == UInt8(ascii: "0") {
                self.index += 1
            } else {
                integerDigits = self.digits()
                if integerDigits == 0 { return self.failure("bad number") }
            }
            var fractionDigits = 0
            if self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: ".") {
                self.index += 1
                fractionDigits = self.digits()
                guard fractionDigits > 0 else { return self.failure("bad fraction") }
            }
            let significandEnd = self.index
            var exponent = 0
            if self.index < self.bytes.count, self.bytes[self.index] | 0x20 == UInt8(ascii: "e") {
                self.index += 1
                var exponentNegative = false
                if self.index < self.bytes.count,
                    self.bytes[self.index] == UInt8(ascii: "+") || self.bytes[self.index] == UInt8(ascii: "-")
                {
                    exponentNegative = self.bytes[self.index] == UInt8(ascii: "-")
                    self.index += 1
                }
                let digitsStart = self.index
                guard self.digits() > 0 else { return self.failure("bad exponent") }
                for byte in self.bytes[digitsStart..<self.index] {
                    // Saturates: past the limit the number is refused whatever follows.
                    exponent = min(exponent * 10 + Int(byte - UInt8(ascii: "0")), JSONObjectValidator.exponentLimit)
                }
                if exponentNegative { exponent = -exponent }
            }
            guard abs(exponent) < JSONObjectValidator.exponentLimit else {
                return "number at byte \(start): its exponent is out of range"
            }
            let scale = max(0, fractionDigits - exponent)
            guard scale <= JSONObjectValidator.maximumFractionDigits else {
                return "number at byte \(start) has \(scale) digits after the decimal point, the limit is \(JSONObjectValidator.maximumFractionDigits)"
            }
            var firstNonZero: Int?
            var position = 0
            for byte in self.bytes[start..<significandEnd] where byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                if byte != UInt8(ascii: "0") {
                    firstNonZero = position
                    break
                }
                position += 1
            }
            let plain = JSONObjectValidator.plainLength(
                negative: negative, integerDigits: integerDigits, fractionDigits: fractionDigits, firstNonZero: firstNonZero,
                exponent: exponent)
            self.plainGrowth += plain - (self.index - start)
            return nil
        }
    }
}
