import Foundation
import LedgerProtocol

extension LedgerEvent {
    /// Checks the event and fills in what the daemon owns: arrival time, a missing id, empty
    /// metadata, and the sender the kernel saw. Mutating, so it works on the event where it
    /// lies in its array instead of on a copy.
    ///
    /// Only a `report_gap` may write a gap record, so a client cannot forge or hide one by logging.
    mutating func admit(arrivedAt now: LedgerTimestamp, from peer: PeerCredentials?, gapRecord: Bool) throws(LedgerProtocolError) {
        try self.validate()
        if !gapRecord, self.eventType == ReportGap.eventType {
            throw LedgerProtocolError(
                code: .invalidEvent,
                message: "event_type '\(ReportGap.eventType)' is reserved for the gap records ledgerd writes from report_gap")
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
