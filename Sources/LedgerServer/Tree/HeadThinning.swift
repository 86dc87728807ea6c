import LedgerProtocol

/// Which of a log's stored heads to keep as they age. A head is signed each second while events
/// arrive, so a quiet ledger stores about one head an event, and a busy one 86,400 a day, forever.
/// Every head of the last week is kept, for a head saved then to be proved against
/// (`ledger-rpc prove --head`); of older ones, the last of each hour, and always the newest.
/// Verification needs none of them but the newest: a saved head is checked against the leaves.
public struct HeadThinning: Sendable {
    /// Heads younger than this are all kept.
    public static let keepsEveryHeadFor: Int64 = 7 * 86_400 * 1_000_000
    /// Of older heads, the last of each period this long is kept.
    public static let period: Int64 = 3_600 * 1_000_000
    /// Heads read and judged at a time: one slice a second while heads are waiting to be judged.
    public static let pageSize = 5_000
    /// How long to wait, once every head old enough was judged, before looking again.
    public static let restAfterPass: Duration = .seconds(600)

    /// The sizes to remove from `page`, heads in ascending size (so signing order), each judged
    /// against the head after it: signed before `cutoff` and in the same period as the next. The
    /// page's last head is not judged, its next head being unknown. `judged` is the size of the
    /// last head judged (the next page starts after it); `caughtUp` is true when the page reached
    /// the heads younger than `cutoff`, or its end.
    public static func judge(_ page: [SignedTreeHead], before cutoff: LedgerTimestamp) -> (remove: [UInt64], judged: UInt64?, caughtUp: Bool) {
        var remove: [UInt64] = []
        var judged: UInt64?
        for (head, next) in zip(page, page.dropFirst()) {
            guard head.timestamp.rawValue < cutoff.rawValue else { return (remove, judged, true) }
            if Self.periodOf(head) == Self.periodOf(next) { remove.append(head.treeSize) }
            judged = head.treeSize
        }
        return (remove, judged, page.count < Self.pageSize)
    }

    private static func periodOf(_ head: SignedTreeHead) -> Int64 {
        head.timestamp.rawValue >= 0 ? head.timestamp.rawValue / Self.period : (head.timestamp.rawValue + 1) / Self.period - 1
    }
}
