import Foundation
import LedgerProtocol
import NIOConcurrencyHelpers
import NIOCore

/// A store that keeps the most recent events in memory and nothing on disk.
///
/// It exists to measure the daemon without storage cost and to run tests
/// without a database. It is bounded: past `capacity` the oldest events are
/// forgotten (and their ids with them), so it never grows without limit.
/// Nothing in it survives a restart.
public final class MemoryStore: EventStore {
    /// Events kept when `--store memory` names no capacity.
    public static let defaultCapacity = 100_000

    private struct State {
        /// In commit order, so sequences ascend from front to back.
        var events: CircularBuffer<LedgerEvent>
        var ids: RecentIDs
        var nextSequence: Int64 = 1
        var closed = false
    }

    public let capacity: Int
    private let state: NIOLockedValueBox<State>

    public init(capacity: Int = MemoryStore.defaultCapacity) {
        precondition(capacity > 0, "a memory store holds at least one event")
        self.capacity = capacity
        // Sized once, so the hot path never regrows.
        self.state = NIOLockedValueBox(State(events: CircularBuffer(initialCapacity: capacity), ids: RecentIDs(capacity: capacity)))
    }

    public var description: String {
        "memory (last \(self.capacity) events, not durable)"
    }

    public func insert(requests: [[LedgerEvent]]) async throws(StoreError) -> [Int64?] {
        try self.withOpenState { state in
            var sequences: [Int64?] = []
            sequences.reserveCapacity(requests.reduce(0) { $0 + $1.count })
            for event in requests.joined() {
                guard state.ids.remember(event.id) else {
                    sequences.append(nil)
                    continue
                }
                let sequence = state.nextSequence
                state.nextSequence += 1
                sequences.append(sequence)
                if state.events.count == self.capacity {
                    state.events.removeFirst(1)
                }
                var stored = event
                stored.sequence = sequence
                if stored.metadata.isEmpty { stored.metadata = "{}" }
                state.events.append(stored)
            }
            return sequences
        }
    }

    public func query(_ request: QueryRequest) async throws(StoreError) -> EventsResult {
        let matching = try self.withOpenState { state in
            state.events.filter { event in
                guard request.filter.matches(event) else { return false }
                guard let cursor = request.after else { return true }
                let key = Self.key(event)
                let after = Self.key(cursor)
                return request.order == .newestFirst ? Self.less(key, after) : Self.less(after, key)
            }
        }
        var page = matching.sorted { Self.less(Self.key($0), Self.key($1)) }
        if request.order == .newestFirst { page.reverse() }
        let rows = Array(page.prefix(Int(request.limit) + 1))
        guard rows.count > Int(request.limit) else { return EventsResult(events: rows, next: nil) }
        let kept = Array(rows.prefix(Int(request.limit)))
        return EventsResult(events: kept, next: kept.last.map { EventCursor(timestamp: Self.key($0).timestamp, id: $0.id) })
    }

    public func jobsReport(_ request: JobsReportRequest) async throws(StoreError) -> JobsReport {
        try self.reference().jobsReport(request)
    }

    public func failuresReport(_ request: FailuresReportRequest) async throws(StoreError) -> FailuresReport {
        try self.reference().failuresReport(request)
    }

    public func errorsReport(_ request: ErrorsReportRequest) async throws(StoreError) -> ErrorsReport {
        try self.reference().errorsReport(request)
    }

    public func timeline(_ request: TimelineRequest) async throws(StoreError) -> EventsResult {
        try self.reference().timeline(request)
    }

    /// The reports over a copy of what is held, computed outside the lock.
    private func reference() throws(StoreError) -> ReportReference {
        ReportReference(events: try self.withOpenState { state in Array(state.events) })
    }

    public func latestSequence() async throws(StoreError) -> Int64 {
        try self.withOpenState { state in state.nextSequence - 1 }
    }

    public func count(_ filter: EventFilter) async throws(StoreError) -> UInt64 {
        try self.withOpenState { state in
            UInt64(state.events.lazy.filter(filter.matches).count)
        }
    }

    public func events(afterSequence sequence: Int64, matching filter: EventFilter, limit: Int) async throws(StoreError) -> [LedgerEvent] {
        try self.withOpenState { state in
            // Sequences ascend through the buffer (with gaps where retention removed events): a binary search finds the start.
            var low = state.events.startIndex
            var high = state.events.endIndex
            while low < high {
                let middle = state.events.index(low, offsetBy: state.events.distance(from: low, to: high) / 2)
                if state.events[middle].sequence ?? 0 <= sequence {
                    low = state.events.index(after: middle)
                } else {
                    high = middle
                }
            }
            var found: [LedgerEvent] = []
            var index = low
            while index != state.events.endIndex, found.count < limit {
                let event = state.events[index]
                if filter.matches(event) { found.append(event) }
                index = state.events.index(after: index)
            }
            return found
        }
    }

    public func expirySummary(_ selection: ExpirySelection, countingUpTo cap: UInt64?) async throws(StoreError) -> ExpirySummary {
        try self.withOpenState { state in
            let timestamps = state.events.lazy.filter(selection.contains).compactMap(\.timestamp)
            if let cap { return ExpirySummary(events: min(UInt64(timestamps.count), cap + 1), oldest: nil, newest: nil) }
            return ExpirySummary(events: UInt64(timestamps.count), oldest: timestamps.min(), newest: timestamps.max())
        }
    }

    /// Rebuilds the buffer without the slice's events: linear in what is held, which is bounded.
    public func expire(_ selection: ExpirySelection, after cursor: EventCursor?, limit: Int) async throws(StoreError) -> ExpiryProgress {
        try self.withOpenState { state in
            let chosen = state.events.filter { event in
                selection.contains(event) && cursor.map { Self.less(Self.key($0), Self.key(event)) } ?? true
            }.sorted { Self.less(Self.key($0), Self.key($1)) }.prefix(limit)
            let removed = Set(chosen.map(\.id))
            var kept = CircularBuffer<LedgerEvent>(initialCapacity: self.capacity)
            for event in state.events where !removed.contains(event.id) { kept.append(event) }
            state.events = kept
            return ExpiryProgress(removed: chosen.count, last: chosen.last.map { EventCursor(timestamp: Self.key($0).timestamp, id: $0.id) })
        }
    }

    public func close() async {
        self.state.withLockedValue { state in
            state.closed = true
            state.events.removeAll()
            state.ids.removeAll()
        }
    }

    private func withOpenState<Result>(_ body: (inout State) -> Result) throws(StoreError) -> Result {
        let result: Result? = self.state.withLockedValue { state in
            state.closed ? nil : body(&state)
        }
        guard let result else { throw StoreError(code: .closed, message: "the memory store was closed") }
        return result
    }

    /// The (timestamp, id) order every store sorts by; ids compare as bytes, as their lowercase text does.
    private struct Key {
        var timestamp: LedgerTimestamp
        var id: UUID
    }

    private static func key(_ event: LedgerEvent) -> Key {
        Key(timestamp: event.timestamp ?? LedgerTimestamp(rawValue: 0), id: event.id)
    }

    private static func key(_ cursor: EventCursor) -> Key {
        Key(timestamp: cursor.timestamp, id: cursor.id)
    }

    private static func less(_ left: Key, _ right: Key) -> Bool {
        if left.timestamp != right.timestamp { return left.timestamp < right.timestamp }
        return withUnsafeBytes(of: left.id.uuid) { leftBytes in
            withUnsafeBytes(of: right.id.uuid) { rightBytes in
                leftBytes.lexicographicallyPrecedes(rightBytes)
            }
        }
    }
}
