import Crypto
import LedgerProtocol
import NIOCore

/// A leaf hashed up to its commit sequence, the one part of it known only at commit.
///
/// Taken where an event is queued, on the submitting connection's task and beside the others',
/// so that the store's one writer thread, whose time every acknowledgement waits for, only hashes
/// the sequence's eight bytes into a copy of it.
public struct LeafPrefix: Sendable {
    /// What one holds in memory: the hasher's state, on the heap, with its object header.
    public static let heldBytes = 160

    private let hasher: SHA256

    /// - Parameter canonical: whether the metadata is already canonical, as the ingest queue makes it.
    public init(_ event: LedgerEvent, canonical: Bool, scratch: inout ByteBuffer) {
        scratch.clear()
        // The leaf hash's 0x00 first, so that the hasher takes the prefix in one update.
        scratch.writeInteger(UInt8(0))
        TreeLeaf.encodePrefix(event, canonical: canonical, into: &scratch)
        var hasher = SHA256()
        scratch.readableBytesView.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        self.hasher = hasher
    }

    /// The leaf hash of the event committed at `sequence`: `TreeLeaf.hash(event, sequence:)`.
    public func hash(sequence: Int64) -> TreeHash {
        var hasher = self.hasher
        Swift.withUnsafeBytes(of: sequence.bigEndian) { hasher.update(bufferPointer: $0) }
        return TreeHash(hasher.finalize())
    }
}
