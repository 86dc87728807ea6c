import Foundation
import LedgerProtocol

extension LedgerEvent {
    /// Checks the event and fills in what the daemon owns: arrival time, a missing id, empty
    /// metadata, and the sender the kernel saw. Mutating, so it works on the event where it
    /// lies in its array instead of on a copy.
    ///
    /// Only a `report_gap` may write a gap record, and only the daemon a removal record, so a client
    /// cannot forge either by logging.
    mutating func admit(arrivedAt now: LedgerTimestamp, from peer: PeerCredentials?, gapRecord: Bool) throws(LedgerProtocolError) {
        try self.validate()
        if !gapRecord, self.eventType == ReportGap.eventType {
            throw LedgerProtocolError(
                code: .invalidEvent,
                message: "event_type '\(ReportGap.eventType)' is reserved for the gap records ledgerd writes from report_gap")
        }
        if self.eventType == RetentionPolicy.recordEventType {
            throw LedgerProtocolError(
                code: .invalidEvent,
                message: "event_type '\(RetentionPolicy.recordEventType)' is reserved for the records ledgerd writes of what retention removed")
        }
        if self.timestamp == nil { self.timestamp = now }
        if self.id == LedgerEvent.unassignedID {
            self.id = UUID.ledgerV7(unixMilliseconds: UInt64(max(0, now.rawValue / 1000)))
        }
        if self.metadata.isEmpty { self.metadata = "{}" }
        // Whatever the client sent, the kernel's word on who it is wins.
        self.peer = peer
    }
}

extension LedgerEvent {
    /// About what the event holds in memory while the daemon keeps it (queued, or buffered for a
    /// tail): its strings' bytes and a fixed share for the rest. What the daemon's bounds in bytes count.
    var heldBytes: Int {
        Self.fixedHeldBytes + self.eventType.utf8.count + self.entityType.utf8.count + self.entityID.utf8.count
            + (self.workerID?.utf8.count ?? 0) + self.metadata.utf8.count
    }

    /// The struct with its ids and optional fields, and each string's header and allocation: an estimate that errs high.
    static let fixedHeldBytes = 200
}
