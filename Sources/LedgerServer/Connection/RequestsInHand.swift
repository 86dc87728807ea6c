import Atomics

/// Requests a connection has read and not yet answered in full: a peer waiting for an ack or a
/// query's rows is not idle, however long the store takes (a PostgreSQL outage, a locked file).
///
/// The connection's tasks count here and the idle check reads it, on another thread, only when
/// it is due, so counting costs a request one uncontended atomic add each way.
final class RequestsInHand: Sendable {
    private let count = ManagedAtomic<Int>(0)

    func took(_ requests: Int = 1) {
        self.count.wrappingIncrement(by: requests, ordering: .relaxed)
    }

    func answered(_ requests: Int = 1) {
        self.count.wrappingDecrement(by: requests, ordering: .relaxed)
    }

    var any: Bool { self.count.load(ordering: .relaxed) > 0 }
}
