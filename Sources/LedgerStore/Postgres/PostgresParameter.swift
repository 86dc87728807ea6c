import Foundation

/// One parameter of a statement: text, as PostgreSQL parses it, or raw bytes for a `bytea`, which
/// spares both sides turning a commit's leaf records into hex and back.
enum PostgresParameter: Sendable {
    /// Nil is SQL NULL.
    case text(String?)
    case bytes([UInt8])
}

/// The parameters as libpq takes them: values, lengths and formats (0 text, 1 binary), valid in `body`.
func withPostgresParameters<Result>(
    _ parameters: [PostgresParameter],
    _ body: (UnsafePointer<UnsafePointer<CChar>?>, UnsafePointer<Int32>, UnsafePointer<Int32>) -> Result
) -> Result {
    let copies: [UnsafeMutableRawPointer?] = parameters.map { parameter in
        switch parameter {
        case .text(let text):
            return text.flatMap { UnsafeMutableRawPointer(strdup($0)) }
        case .bytes(let bytes):
            // libpq reads a binary value by its length; a zero-length one still needs an address.
            let copy = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
            bytes.withUnsafeBytes { copy.copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(copy), byteCount: bytes.count) }
            return copy
        }
    }
    defer {
        for (parameter, copy) in zip(parameters, copies) {
            if case .bytes = parameter { copy?.deallocate() } else { free(copy) }
        }
    }
    let values = copies.map { $0.map { UnsafePointer($0.assumingMemoryBound(to: CChar.self)) } } + [nil]
    let lengths = parameters.map { parameter -> Int32 in
        if case .bytes(let bytes) = parameter { return Int32(bytes.count) }
        return 0
    } + [0]
    let formats = parameters.map { parameter -> Int32 in
        if case .bytes = parameter { return 1 }
        return 0
    } + [0]
    return values.withUnsafeBufferPointer { values in
        lengths.withUnsafeBufferPointer { lengths in
            formats.withUnsafeBufferPointer { formats in body(values.baseAddress!, lengths.baseAddress!, formats.baseAddress!) }
        }
    }
}
