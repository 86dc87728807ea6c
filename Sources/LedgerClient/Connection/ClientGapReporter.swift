import Foundation
import LedgerProtocol

/// What a client dropped and has not yet had stored as a gap record.
///
/// Drops are tallied by reason until a connection can carry a report; a report sent and not yet
/// answered stays here and is resent with the same id, so the daemon stores each one once.
struct ClientGapReporter: Sendable {
    /// Reports waiting beyond this (a daemon that keeps failing to store them) are dropped oldest first.
    static let maximumUnsentReports = 64

    private(set) var drops = DropTally()
    private var unsent: [(report: ReportGap, inFlight: Bool)] = []
    /// Whether a timer will report the drops that happened while connected.
    var reportScheduled = false

    /// Whether there is anything to report, which is reason enough to connect.
    var hasWork: Bool { !self.drops.isEmpty || !self.unsent.isEmpty }

    /// Events dropped and not yet in a stored report.
    var unreportedEvents: UInt64 {
        let spans = [self.drops.daemonUnreachable, self.drops.bufferFull, self.drops.rejected]
        let unsent = self.unsent.reduce(UInt64(0)) { $0 + $1.report.events }
        return spans.reduce(unsent) { $0 + $1.events }
    }

    mutating func record(_ events: Int, _ reason: ReportGap.Reason, at time: LedgerTimestamp) {
        self.drops.add(events, reason, at: time)
    }

    /// The reports to send now: the drops tallied since the last report, and those sent before whose
    /// answer never came. Each is in flight until `settle` or `retryLater` names it.
    mutating func reportsToSend(client: String, makeID: () -> UUID) -> [ReportGap] {
        let name = String(decoding: client.utf8.prefix(LedgerEvent.Limits.entityID), as: UTF8.self)
        self.unsent += self.drops.takeReports(client: name, makeID: makeID).map { ($0, false) }
        if self.unsent.count > Self.maximumUnsentReports {
            self.unsent.removeFirst(self.unsent.count - Self.maximumUnsentReports)
        }
        var reports: [ReportGap] = []
        for index in self.unsent.indices where !self.unsent[index].inFlight {
            self.unsent[index].inFlight = true
            reports.append(self.unsent[index].report)
        }
        return reports
    }

    /// Takes the daemon's answer to a report; returns whether the report is now stored.
    mutating func settle(_ id: UUID, answer: LedgerResponse) -> Bool {
        guard let index = self.unsent.firstIndex(where: { $0.report.id == id }) else { return false }
        if case .error(let error) = answer, error.code == .storeUnavailable || error.code == .shuttingDown {
            // Kept for the next connection, where the daemon may store it.
            self.unsent[index].inFlight = false
            return false
        }
        self.unsent.remove(at: index)
        if case .ack = answer { return true }
        return false
    }

    /// The report's answer will not come (timeout, connection lost): send it again next time.
    mutating func retryLater(_ id: UUID) {
        guard let index = self.unsent.firstIndex(where: { $0.report.id == id }) else { return }
        self.unsent[index].inFlight = false
    }
}
