import Atomics

/// Requests a connection has read and not yet answered in full: a peer waiting for an ack or a
/// query's rows is not idle, however long the store takes (a PostgreSQL outage, a locked file).
/// A peer that does not read its answers is: the idle check asks this only while the socket
/// still takes writes.
///
/// The deadline handler counts each whole frame as it is read; the connection's tasks count each
/// off once it is answered, or once they find it needs no answer. The idle check reads the count
/// only when it is due, so counting costs a request one uncontended atomic add each way.
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
