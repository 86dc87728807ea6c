import Foundation
import NIOCore

/// `tree_read` (0x1B): one page of what the daemon's store keeps of its logs, so that
/// `ledger-rpc verify` can check a ledger through a daemon it cannot read the store of. Each part
/// answers one question a verifier asks (docs/VERIFY.md, "Verifying"); the daemon may answer a
/// page with fewer items than asked, and an empty page ends a list.
public enum TreeReadRequest: Sendable, Hashable {
    /// Every log the store keeps.
    case logs
    /// Up to `limit` of the log's signed heads of at least `fromSize` leaves, smallest first.
    case heads(logID: [UInt8], fromSize: UInt64, limit: UInt32)
    case latestHead(logID: [UInt8])
    /// Up to `limit` of the log's leaf records from leaf `from` on.
    case leafRecords(logID: [UInt8], from: UInt64, limit: UInt32)
    case leafOfSequence(logID: [UInt8], sequence: Int64)
    case sequenceOfEvent(UUID)
    /// Up to `limit` stored events committed after `afterSequence`, in commit order, as stored.
    case events(afterSequence: Int64, limit: UInt32)
    /// Up to `limit` of retention's tombstones after `afterSequence`.
    case tombstones(afterSequence: Int64, limit: UInt32)

    /// The byte that says which part a request or its answer is.
    public var part: UInt8 {
        switch self {
        case .logs: 0
        case .heads: 1
        case .latestHead: 2
        case .leafRecords: 3
        case .leafOfSequence: 4
        case .sequenceOfEvent: 5
        case .events: 6
        case .tombstones: 7
        }
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(self.part)
        switch self {
        case .logs: break
        case .heads(let logID, let size, let limit):
            buffer.writeBytes(logID)
            buffer.writeInteger(size)
            buffer.writeInteger(limit)
        case .latestHead(let logID):
            buffer.writeBytes(logID)
        case .leafRecords(let logID, let from, let limit):
            buffer.writeBytes(logID)
            buffer.writeInteger(from)
            buffer.writeInteger(limit)
        case .leafOfSequence(let logID, let sequence):
            buffer.writeBytes(logID)
            buffer.writeInteger(sequence)
        case .sequenceOfEvent(let id):
            buffer.ledgerWriteUUID(id)
        case .events(let after, let limit), .tombstones(let after, let limit):
            buffer.writeInteger(after)
            buffer.writeInteger(limit)
        }
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> TreeReadRequest {
        func logID() throws(LedgerProtocolError) -> [UInt8] {
            guard let bytes = buffer.readBytes(length: 32) else { throw .malformed("tree_read's log id is cut short") }
            return bytes
        }
        let part = try buffer.ledgerReadInteger(as: UInt8.self, field: "tree_read part")
        let request: TreeReadRequest
        switch part {
        case 0: request = .logs
        case 1:
            request = .heads(
                logID: try logID(), fromSize: try buffer.ledgerReadInteger(as: UInt64.self, field: "tree size"),
                limit: try buffer.ledgerReadInteger(as: UInt32.self, field: "limit"))
        case 2: request = .latestHead(logID: try logID())
        case 3:
            request = .leafRecords(
                logID: try logID(), from: try buffer.ledgerReadInteger(as: UInt64.self, field: "leaf"),
                limit: try buffer.ledgerReadInteger(as: UInt32.self, field: "limit"))
        case 4: request = .leafOfSequence(logID: try logID(), sequence: try buffer.ledgerReadInteger(as: Int64.self, field: "sequence"))
        case 5: request = .sequenceOfEvent(try buffer.ledgerReadUUID())
        case 6, 7:
            let after = try buffer.ledgerReadInteger(as: Int64.self, field: "sequence")
            let limit = try buffer.ledgerReadInteger(as: UInt32.self, field: "limit")
            request = part == 6 ? .events(afterSequence: after, limit: limit) : .tombstones(afterSequence: after, limit: limit)
        default:
            throw .malformed("tree_read part \(part) is not one of 0 to 7")
        }
        try buffer.ledgerExpectEnd(of: "tree_read")
        return request
    }
}
