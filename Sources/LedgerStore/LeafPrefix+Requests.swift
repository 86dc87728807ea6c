import LedgerProtocol
import LedgerTree

extension LeafPrefix {
    /// The leaves of a commit's requests, joined as its events are: none unless there is one for
    /// every event, in the requests' shape, so that a leaf never finishes another event's hash.
    static func joined(_ leaves: [[LeafPrefix]], fitting requests: [[LedgerEvent]]) -> [LeafPrefix] {
        guard leaves.count == requests.count, zip(leaves, requests).allSatisfy({ $0.count == $1.count }) else { return [] }
        return leaves.count == 1 ? leaves[0] : Array(leaves.joined())
    }
}
