import Foundation

/// The ids a memory store still refuses as duplicates, kept in two generations
/// so that forgetting old ids costs one bulk clear instead of a hash removal per event.
///
/// Every id among the last `capacity` remembered is recognised; older ones are
/// forgotten a generation at a time, so an id is recognised for at most twice that.
struct RecentIDs {
    private var current = Set<StoredID>()
    private var previous = Set<StoredID>()
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        // Both sized once, so the hot path never rehashes or regrows.
        self.current.reserveCapacity(capacity)
        self.previous.reserveCapacity(capacity)
    }

    /// Remembers the id; false when it was already remembered.
    mutating func remember(_ id: UUID) -> Bool {
        let stored = StoredID(id)
        if self.previous.contains(stored) { return false }
        if self.current.count == self.capacity {
            swap(&self.current, &self.previous)
            self.current.removeAll(keepingCapacity: true)
            // The generation just retired may hold it too.
            if self.previous.contains(stored) { return false }
        }
        return self.current.insert(stored).inserted
    }

    mutating func removeAll() {
        self.current = []
        self.previous = []
    }
}

/// An id as two words: hashing two integers costs less than hashing UUID's sixteen bytes.
private struct StoredID: Hashable {
    var high: UInt64
    var low: UInt64

    init(_ id: UUID) {
        (self.high, self.low) = withUnsafeBytes(of: id.uuid) { bytes in
            (bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self), bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        }
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(self.high)
        hasher.combine(self.low)
    }
}
