import NIOCore

/// `tree_head` (0x98): the daemon's log key and its newest signed tree head, signed for the
/// request if the tree grew since the last one; no head while the log has none (a store that keeps no tree).
public struct TreeHeadResult: Sendable, Hashable {
    /// The raw 32-byte Ed25519 public key of the daemon's log; empty when it keeps none.
    public var publicKey: [UInt8]
    public var head: SignedTreeHead?

    public init(publicKey: [UInt8], head: SignedTreeHead?) {
        self.publicKey = publicKey
        self.head = head
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(self.publicKey.count))
        buffer.writeBytes(self.publicKey)
        if let head = self.head {
            buffer.writeInteger(UInt8(1))
            head.encode(into: &buffer)
        } else {
            buffer.writeInteger(UInt8(0))
        }
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> TreeHeadResult {
        let count = try buffer.ledgerReadInteger(as: UInt8.self, field: "public key length")
        guard let key = buffer.readBytes(length: Int(count)) else { throw .malformed("tree_head's public key is cut short") }
        let head = try buffer.ledgerReadOptional(field: "head") { (b: inout ByteBuffer) throws(LedgerProtocolError) in try SignedTreeHead.decode(from: &b) }
        try buffer.ledgerExpectEnd(of: "tree_head")
        return TreeHeadResult(publicKey: key, head: head)
    }
}
