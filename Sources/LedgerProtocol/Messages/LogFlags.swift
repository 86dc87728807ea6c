import NIOCore

/// The flags byte that opens every log message.
///
/// Bit 0 asks for an acknowledgement after commit; the other bits are reserved and must be zero,
/// so that a later version can give them meaning without old daemons misreading them.
public struct LogFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    public static let acknowledge = LogFlags(rawValue: 1 << 0)

    static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> LogFlags {
        let raw = try buffer.ledgerReadInteger(as: UInt8.self, field: "flags")
        let flags = LogFlags(rawValue: raw)
        guard flags.subtracting(.acknowledge).isEmpty else {
            throw .malformed("reserved flag bits are set (flags 0x\(String(raw, radix: 16)))")
        }
        return flags
    }
}
