import Foundation
import LedgerProtocol

/// The events a client dropped since its last gap report, by reason.
///
/// Three fixed slots, so counting a drop on the hot path never allocates.
struct DropTally: Sendable {
    struct Span: Sendable {
        var events: UInt64 = 0
        var first = LedgerTimestamp(rawValue: 0)
        var last = LedgerTimestamp(rawValue: 0)

        mutating func add(_ events: Int, at time: LedgerTimestamp) {
            if self.events == 0 { self.first = time }
            self.events += UInt64(events)
            self.last = max(self.last, time)
        }
    }

    private(set) var daemonUnreachable = Span()
    private(set) var bufferFull = Span()
    private(set) var rejected = Span()

    var isEmpty: Bool {
        self.daemonUnreachable.events == 0 && self.bufferFull.events == 0 && self.rejected.events == 0
    }

    mutating func add(_ events: Int, _ reason: ReportGap.Reason, at time: LedgerTimestamp) {
        guard events > 0 else { return }
        switch reason {
        case .daemonUnreachable: self.daemonUnreachable.add(events, at: time)
        case .bufferFull: self.bufferFull.add(events, at: time)
        default: self.rejected.add(events, at: time)
        }
    }

    /// One report per reason with drops, each with a fresh id; counting starts again from zero.
    mutating func takeReports(client: String, makeID: () -> UUID) -> [ReportGap] {
        defer { self = DropTally() }
        let spans: [(ReportGap.Reason, Span)] = [
            (.daemonUnreachable, self.daemonUnreachable), (.bufferFull, self.bufferFull), (.rejected, self.rejected),
        ]
        return spans.compactMap { reason, span in
            guard span.events > 0 else { return nil }
            return ReportGap(
                id: makeID(), client: client, reason: reason, events: span.events, firstDropped: span.first, lastDropped: span.last)
        }
    }
}
