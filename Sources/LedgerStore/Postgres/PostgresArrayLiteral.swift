/// A one-dimensional PostgreSQL array in its text form: `{"a","b",NULL}`.
///
/// Every element is quoted, with backslashes and double quotes escaped, so any
/// text (commas, braces, JSON) round-trips; an absent value is an unquoted NULL.
struct PostgresArrayLiteral {
    private var bytes: [UInt8]

    init(capacity: Int) {
        self.bytes = [UInt8(ascii: "{")]
        self.bytes.reserveCapacity(capacity)
    }

    mutating func append(_ value: String?) {
        if self.bytes.count > 1 { self.bytes.append(UInt8(ascii: ",")) }
        guard let value else {
            self.bytes.append(contentsOf: "NULL".utf8)
            return
        }
        self.bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { self.bytes.append(UInt8(ascii: "\\")) }
            self.bytes.append(byte)
        }
        self.bytes.append(UInt8(ascii: "\""))
    }

    var text: String {
        String(decoding: self.bytes + [UInt8(ascii: "}")], as: UTF8.self)
    }
}
