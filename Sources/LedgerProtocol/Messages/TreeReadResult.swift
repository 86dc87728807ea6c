import NIOCore

/// `tree_page` (0x9A): the answer to one `tree_read`, its part first. Bytes as the store keeps
/// them: ids and keys 32 bytes, leaf records 56 bytes each (docs/VERIFY.md, "Leaf records").
public enum TreeReadResult: Sendable, Hashable {
    /// A log: its id, its raw public key, and its tree's size and root.
    public struct Log: Sendable, Hashable {
        public var logID: [UInt8]
        public var publicKey: [UInt8]
        public var size: UInt64
        public var root: [UInt8]

        public init(logID: [UInt8], publicKey: [UInt8], size: UInt64, root: [UInt8]) {
            self.logID = logID
            self.publicKey = publicKey
            self.size = size
            self.root = root
        }
    }

    case logs([Log])
    /// Heads, or the newest head (none or one).
    case heads([SignedTreeHead])
    /// Whole 56-byte records, one after another.
    case leafRecords([UInt8])
    /// A leaf number or a commit sequence, when there is one.
    case number(Int64?)
    /// Events with their senders and sequences, their metadata as the leaf hashes it: the text the
    /// daemon stored (`storedText`), or the canonical form of a value the store keeps as JSON only.
    case events([LedgerEvent], storedText: Bool)
    case tombstones([Tombstone])

    private var part: UInt8 {
        switch self {
        case .logs: 0
        case .heads: 1
        case .leafRecords: 3
        case .number: 4
        case .events: 6
        case .tombstones: 7
        }
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(self.part)
        switch self {
        case .logs(let logs):
            buffer.writeInteger(UInt32(logs.count))
            for log in logs {
                buffer.writeBytes(log.logID)
                buffer.writeBytes(log.publicKey)
                buffer.writeInteger(log.size)
                buffer.writeBytes(log.root)
            }
        case .heads(let heads):
            buffer.writeInteger(UInt32(heads.count))
            for head in heads { head.encode(into: &buffer) }
        case .leafRecords(let bytes):
            buffer.writeInteger(UInt32(bytes.count))
            buffer.writeBytes(bytes)
        case .number(let number):
            buffer.ledgerWriteOptional(number) { $0.writeInteger($1) }
        case .events(let events, let storedText):
            buffer.writeInteger(UInt8(storedText ? 1 : 0))
            EventsResult.encode(events, into: &buffer) { _ in }
        case .tombstones(let tombstones):
            buffer.writeInteger(UInt32(tombstones.count))
            for tombstone in tombstones {
                buffer.writeInteger(tombstone.sequence)
                buffer.ledgerWriteString16(tombstone.retention)
            }
        }
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> TreeReadResult {
        func bytes(_ count: Int, _ field: String) throws(LedgerProtocolError) -> [UInt8] {
            guard count <= buffer.readableBytes, let bytes = buffer.readBytes(length: count) else {
                throw .malformed("tree_page's \(field) is cut short")
            }
            return bytes
        }
        let part = try buffer.ledgerReadInteger(as: UInt8.self, field: "tree_page part")
        let result: TreeReadResult
        switch part {
        case 0:
            let count = try buffer.ledgerReadInteger(as: UInt32.self, field: "log count")
            var logs: [Log] = []
            for _ in 0..<count {
                logs.append(
                    Log(
                        logID: try bytes(32, "log id"), publicKey: try bytes(32, "public key"),
                        size: try buffer.ledgerReadInteger(as: UInt64.self, field: "tree size"), root: try bytes(32, "root")))
            }
            result = .logs(logs)
        case 1:
            let count = try buffer.ledgerReadInteger(as: UInt32.self, field: "head count")
            var heads: [SignedTreeHead] = []
            for _ in 0..<count { heads.append(try SignedTreeHead.decode(from: &buffer)) }
            result = .heads(heads)
        case 3:
            let count = try buffer.ledgerReadInteger(as: UInt32.self, field: "record bytes")
            result = .leafRecords(try bytes(Int(count), "leaf records"))
        case 4:
            result = .number(
                try buffer.ledgerReadOptional(field: "number") { (b: inout ByteBuffer) throws(LedgerProtocolError) in
                    try b.ledgerReadInteger(as: Int64.self, field: "number")
                })
        case 6:
            let storedText = try buffer.ledgerReadInteger(as: UInt8.self, field: "stored text") == 1
            // The events layout checks the end of the payload itself.
            let (events, _) = try EventsResult.decode(from: &buffer) { (_: inout ByteBuffer) throws(LedgerProtocolError) in () }
            return .events(events, storedText: storedText)
        case 7:
            let count = try buffer.ledgerReadInteger(as: UInt32.self, field: "tombstone count")
            var tombstones: [Tombstone] = []
            for _ in 0..<count {
                tombstones.append(
                    Tombstone(
                        sequence: try buffer.ledgerReadInteger(as: Int64.self, field: "sequence"),
                        retention: try buffer.ledgerReadString16(field: "retention")))
            }
            result = .tombstones(tombstones)
        default:
            throw .malformed("tree_page part \(part) is not one the protocol has")
        }
        try buffer.ledgerExpectEnd(of: "tree_page")
        return result
    }
}
