import Foundation
import LedgerProtocol
import Testing

@testable import LedgerStore

@Suite struct SQLiteSegmentFilterTests {
    static func keys(_ count: Int, seed: UInt64) -> [String] {
        var random = SplitMix64(state: seed)
        return (0..<count).map { _ in
            let (high, low) = (random.next(), random.next())
            return UUID(uuid: withUnsafeBytes(of: (high, low)) { $0.load(as: uuid_t.self) }).uuidString.lowercased()
        }
    }

    /// A filter never says no to a key it holds, and says yes to few it does not: about one in a
    /// hundred at ten bits a key, which is what a lookup's extra seeks come to.
    @Test(arguments: [1, 37, 20_000])
    func holdsEveryKeyAndFewOthers(count: Int) {
        let held = Self.keys(count, seed: 1)
        let filter = SQLiteSegmentFilter(keys: held)
        #expect(held.allSatisfy(filter.mayContain))
        #expect(filter.blockCount == max(1, (count * 10 + 511) / 512))
        let absent = Self.keys(20_000, seed: 2)
        let falsePositives = absent.filter(filter.mayContain).count
        #expect(falsePositives < absent.count * 3 / 100, "\(falsePositives) of \(absent.count) absent keys")
    }

    /// Stored filters are read by later runs: the bytes and the hash are fixed, and bytes no
    /// filter was written as are refused rather than read as one.
    @Test func storedBytesReadBackAsTheSameFilter() throws {
        let filter = SQLiteSegmentFilter(keys: Self.keys(500, seed: 3))
        let bytes = filter.bytes
        #expect(bytes.count == filter.byteCount)
        #expect(SQLiteSegmentFilter(bytes: bytes) == filter)
        #expect(SQLiteSegmentFilter(bytes: bytes.dropLast()) == nil)
        #expect(SQLiteSegmentFilter(bytes: []) == nil)
        // The hash of a known key, so that a change to it, which would misread every stored filter, fails here.
        #expect(SQLiteSegmentFilter.hash("00000000-0000-0000-0000-000000000000") == Self.knownHash)
        let one = SQLiteSegmentFilter(keys: ["00000000-0000-0000-0000-000000000000"])
        #expect(one.bytes.filter { $0 != 0 }.count <= SQLiteSegmentFilter.probes)
    }

    /// FNV-1a (64-bit) of the id's bytes, then SplitMix64's finalizer, worked out apart from this code.
    static let knownHash: UInt64 = 2_619_553_144_103_502_472
}

@Suite struct SQLiteSegmentFiltersTests {
    static func filter(_ keys: [String]) -> SQLiteSegmentFilter { SQLiteSegmentFilter(keys: keys) }

    /// A lookup seeks each segment whose filter may hold its id and every segment without a filter
    /// (the newest, one not yet built, one over the budget); with no id, every segment.
    @Test func aLookupSeeksTheSegmentsThatMayHoldItsIDAndThoseWithoutFilters() {
        let filters = SQLiteSegmentFilters()
        filters.add(Self.filter(["a"]), segment: 1)
        filters.add(Self.filter(["b"]), segment: 2)
        filters.add(Self.filter(["a", "c"]), segment: 4)
        #expect(filters.segments(for: "a", from: 0, through: 5) == [0, 1, 3, 4, 5])
        #expect(filters.segments(for: "c", from: 1, through: 4) == [3, 4])
        #expect(filters.segments(for: "z", from: 1, through: 4) == [3])
        #expect(filters.segments(for: nil, from: 1, through: 4) == [1, 2, 3, 4])
        #expect(filters.segments(for: "a", from: 4, through: 3) == [])
        #expect(filters.storedSegments == [1, 2, 4])
        #expect(filters.newestStored == 4)

        filters.remove(2...Int64.max)
        #expect(filters.storedSegments == [1])
        #expect(filters.newestStored == 1)
        #expect(filters.segments(for: "z", from: 1, through: 4) == [2, 3, 4])
    }

    /// Memory holds the newest filters the budget allows; an older one over it is stored but not
    /// held, and its segment is sought like one without a filter.
    @Test func theBudgetHoldsTheNewestFilters() {
        let one = Self.filter(["a"])
        let filters = SQLiteSegmentFilters(budget: one.byteCount * 2)
        filters.add(one, segment: 5)
        filters.add(one, segment: 3)
        filters.add(one, segment: 1)
        #expect(filters.held.filters == 2)
        #expect(filters.held.bytes == one.byteCount * 2)
        #expect(filters.storedSegments == [1, 3, 5])
        #expect(filters.segments(for: "z", from: 1, through: 5) == [1, 2, 4])
        // A newer one displaces the oldest held.
        filters.add(one, segment: 6)
        #expect(filters.held.filters == 2)
        #expect(filters.segments(for: "z", from: 1, through: 6) == [1, 2, 3, 4])
        // Forgetting a held filter gives its bytes back.
        filters.remove(6...6)
        #expect(filters.held.filters == 1)
        #expect(filters.held.bytes == one.byteCount)
    }
}
