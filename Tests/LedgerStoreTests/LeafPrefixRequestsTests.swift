import Foundation
import LedgerProtocol
@testable import LedgerStore
import LedgerTree
import NIOCore
import Testing

/// A commit's leaves are used only when each is its own event's: one in the wrong place would
/// finish another event's hash, and the tree would then disagree with the events for good.
@Suite struct LeafPrefixRequestsTests {
    static func event(_ index: Int) -> LedgerEvent {
        LedgerEvent(
            id: UUID.ledgerV7(unixMilliseconds: 1_790_000_000_000 + UInt64(index)), timestamp: nil, eventType: "job_created",
            entityType: "job", entityID: "j-\(index)", metadata: "", severity: .info, workerID: nil, jobID: nil, peer: nil)
    }

    static func leaves(_ requests: [[LedgerEvent]]) -> [[LeafPrefix]] {
        var scratch = ByteBuffer()
        return requests.map { $0.map { LeafPrefix($0, canonical: true, scratch: &scratch) } }
    }

    @Test func leavesInTheRequestsShapeAreJoinedInOrder() {
        let requests = [[Self.event(0), Self.event(1)], [], [Self.event(2)], [Self.event(3), Self.event(4), Self.event(5)]]
        let joined = LeafPrefix.joined(Self.leaves(requests), fitting: requests)
        let events = requests.flatMap { $0 }
        #expect(joined.count == events.count)
        var scratch = ByteBuffer()
        for (prefix, event) in zip(joined, events) {
            #expect(prefix.hash(sequence: 9) == TreeLeaf.hash(event, sequence: 9, canonical: true, scratch: &scratch))
        }
    }

    @Test func leavesInAnyOtherShapeAreNoneAtAll() {
        let requests = [[Self.event(0), Self.event(1)], [Self.event(2)]]
        let shapes: [[[LedgerEvent]]] = [
            [[Self.event(0)], [Self.event(1), Self.event(2)]],  // as many in all, cut elsewhere
            [[Self.event(0), Self.event(1), Self.event(2)]],  // one request fewer
            [[Self.event(0), Self.event(1)], [Self.event(2)], []],  // one request more
            [[Self.event(0), Self.event(1)]],  // an event short
        ]
        for shape in shapes {
            #expect(LeafPrefix.joined(Self.leaves(shape), fitting: requests).isEmpty, "leaves shaped \(shape.map(\.count))")
        }
        #expect(LeafPrefix.joined([], fitting: requests).isEmpty)
    }
}
