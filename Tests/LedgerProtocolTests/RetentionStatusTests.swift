import LedgerProtocol
import Testing

/// `retention_status`: what a rule's pending count means at and around its markers.
@Suite struct RetentionStatusTests {
    @Test(arguments: [
        (UInt64(0), RetentionStatus.Rule.Pending.exactly(0)),
        (RetentionStatus.pendingCap, .exactly(RetentionStatus.pendingCap)),
        (RetentionStatus.pendingCap + 1, .moreThan(RetentionStatus.pendingCap)),
        (RetentionStatus.notCounted - 1, .moreThan(RetentionStatus.pendingCap)),
        (RetentionStatus.notCounted, .notCounted),
    ])
    func aPendingCountReadsAsCountedCappedOrNotCounted(pending: UInt64, expected: RetentionStatus.Rule.Pending) {
        let rule = RetentionStatus.Rule(rule: "INFO=30d", before: LedgerTimestamp(rawValue: 0), pending: pending, lastRemoved: 0, removedSinceStart: 0)
        #expect(rule.pendingEvents == expected)
    }
}
