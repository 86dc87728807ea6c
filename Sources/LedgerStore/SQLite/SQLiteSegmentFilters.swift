import LedgerProtocol
import Synchronization

/// The segment filters a store holds in memory, shared by its writer, its readers and the builder,
/// and the segments a lookup by one id must seek.
///
/// Only a segment that ingest has finished with has a filter. Memory is bounded by `budget`: the
/// newest segments' filters are the ones held (an operator looks up recent things most), and a
/// segment whose filter is not held is sought as if it had none, which costs a seek, never an event.
final class SQLiteSegmentFilters: Sendable {
    private struct State {
        var held: [Int64: SQLiteSegmentFilter] = [:]
        var heldBytes = 0
        /// Every segment with a stored filter, held or not, so the builder builds each once.
        var stored: Set<Int64> = []
        /// The newest of them, which every commit compares its segment with.
        var newestStored: Int64?
    }

    /// 64 MiB: at about 0.6 bytes an event, the filters of a hundred million events.
    static let defaultBudget = 64 << 20

    let budget: Int
    private let state = Mutex(State())

    init(budget: Int = SQLiteSegmentFilters.defaultBudget) {
        self.budget = budget
    }

    /// The segments from `first` to `last` a lookup of `key` seeks: each without a held filter, and
    /// each whose filter may hold the key. Every one of them for a nil key.
    func segments(for key: String?, from first: Int64, through last: Int64) -> [Int64] {
        guard first <= last else { return [] }
        guard let key else { return Array(first...last) }
        return self.state.withLock { state in
            (first...last).filter { state.held[$0]?.mayContain(key) ?? true }
        }
    }

    /// Takes the filter of a segment just stored, holding it if the budget allows, after letting
    /// go of older segments' filters if need be.
    func add(_ filter: SQLiteSegmentFilter, segment: Int64) {
        self.state.withLock { state in
            state.stored.insert(segment)
            state.newestStored = max(state.newestStored ?? segment, segment)
            if let old = state.held.removeValue(forKey: segment) { state.heldBytes -= old.byteCount }
            while state.heldBytes + filter.byteCount > self.budget, let oldest = state.held.keys.min(), oldest < segment {
                state.heldBytes -= state.held.removeValue(forKey: oldest)!.byteCount
            }
            guard state.heldBytes + filter.byteCount <= self.budget else { return }
            state.held[segment] = filter
            state.heldBytes += filter.byteCount
        }
    }

    /// Forgets the filters of the segments `range` covers (their rows are gone, or the segment
    /// takes events again).
    func remove(_ range: ClosedRange<Int64>) {
        self.state.withLock { state in
            for segment in state.stored where range.contains(segment) {
                state.stored.remove(segment)
                if let old = state.held.removeValue(forKey: segment) { state.heldBytes -= old.byteCount }
            }
            state.newestStored = state.stored.max()
        }
    }

    /// Whether the segment has a stored filter.
    func isStored(_ segment: Int64) -> Bool {
        self.state.withLock { $0.stored.contains(segment) }
    }

    /// The newest segment with a stored filter.
    var newestStored: Int64? {
        self.state.withLock { $0.newestStored }
    }

    /// The segments with stored filters, oldest first.
    var storedSegments: [Int64] {
        self.state.withLock { $0.stored.sorted() }
    }

    /// Filters held and the bytes they take.
    var held: (filters: Int, bytes: Int) {
        self.state.withLock { ($0.held.count, $0.heldBytes) }
    }

    /// As stats show them: segments with a stored filter, those held in memory, and their bytes.
    var counters: [StatsResult.Counter] {
        self.state.withLock { state in
            [
                .init("sqlite_segment_filters", Int64(state.stored.count)), .init("sqlite_segment_filters_held", Int64(state.held.count)),
                .init("sqlite_segment_filter_bytes", Int64(state.heldBytes)),
            ]
        }
    }
}
