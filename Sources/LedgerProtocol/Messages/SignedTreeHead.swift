import NIOCore

/// A log's commitment to its history (docs/VERIFY.md, "Tree head"): the size and root of its
/// Merkle tree at a moment, signed with the log's Ed25519 key. Plain bytes here; LedgerTree
/// makes and checks the signature.
public struct SignedTreeHead: Sendable, Hashable {
    /// The domain separation of the signed bytes, so a signature over a head can never be taken for one over anything else.
    public static let context = Array("SocialSyncLedger tree head v1".utf8) + [0]

    /// SHA-256 of the log's raw 32-byte Ed25519 public key.
    public var logID: [UInt8]
    public var treeSize: UInt64
    public var rootHash: [UInt8]
    public var timestamp: LedgerTimestamp
    /// Ed25519 over `signedBytes`, 64 bytes.
    public var signature: [UInt8]

    public init(logID: [UInt8], treeSize: UInt64, rootHash: [UInt8], timestamp: LedgerTimestamp, signature: [UInt8]) {
        self.logID = logID
        self.treeSize = treeSize
        self.rootHash = rootHash
        self.timestamp = timestamp
        self.signature = signature
    }

    /// What the signature covers: the context, the log id, the size (u64 big-endian), the root,
    /// and the timestamp (i64 big-endian microseconds since 1970).
    public static func signedBytes(logID: [UInt8], treeSize: UInt64, rootHash: [UInt8], timestamp: LedgerTimestamp) -> [UInt8] {
        var bytes = Self.context
        bytes.append(contentsOf: logID)
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: treeSize >> UInt64(shift))) }
        bytes.append(contentsOf: rootHash)
        let micros = UInt64(bitPattern: timestamp.rawValue)
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: micros >> UInt64(shift))) }
        return bytes
    }

    public var signedBytes: [UInt8] {
        Self.signedBytes(logID: self.logID, treeSize: self.treeSize, rootHash: self.rootHash, timestamp: self.timestamp)
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeBytes(self.logID)
        buffer.writeInteger(self.treeSize)
        buffer.writeBytes(self.rootHash)
        buffer.writeInteger(self.timestamp.rawValue)
        buffer.writeBytes(self.signature)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> SignedTreeHead {
        func bytes(_ count: Int, _ field: String) throws(LedgerProtocolError) -> [UInt8] {
            guard let bytes = buffer.readBytes(length: count) else {
                throw .malformed("the tree head's \(field) is cut short")
            }
            return bytes
        }
        let logID = try bytes(32, "log id")
        let size = try buffer.ledgerReadInteger(as: UInt64.self, field: "tree size")
        let root = try bytes(32, "root hash")
        let timestamp = try buffer.ledgerReadTimestamp(field: "timestamp")
        let signature = try bytes(64, "signature")
        return SignedTreeHead(logID: logID, treeSize: size, rootHash: root, timestamp: timestamp, signature: signature)
    }
}
