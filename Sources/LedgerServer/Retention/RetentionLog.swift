import LedgerProtocol
import NIOConcurrencyHelpers

/// What retention passes have done, kept for `ledger-rpc retention`: written by the service,
/// read by the dispatcher.
final class RetentionLog: Sendable {
    let policy: RetentionPolicy
    private let state: NIOLockedValueBox<State>

    private struct State {
        var lastRemoved: [String: UInt64] = [:]
        var removedSinceStart: [String: UInt64] = [:]
        var lastPassStarted: LedgerTimestamp?
        var lastPassFinished: LedgerTimestamp?
        var nextPass: LedgerTimestamp?
        var note = ""
    }

    init(policy: RetentionPolicy) {
        self.policy = policy
        self.state = NIOLockedValueBox(State())
    }

    func begin(at time: LedgerTimestamp) {
        self.state.withLockedValue { state in
            state.lastPassStarted = time
            state.lastPassFinished = nil
            state.lastRemoved = [:]
            state.note = ""
        }
    }

    func removed(_ count: UInt64, by rule: RetentionPolicy.Rule) {
        self.state.withLockedValue { state in
            state.lastRemoved[rule.description, default: 0] += count
            state.removedSinceStart[rule.description, default: 0] += count
        }
    }

    func finish(at time: LedgerTimestamp, note: String, next: LedgerTimestamp?) {
        self.state.withLockedValue { state in
            state.lastPassFinished = time
            state.note = note
            state.nextPass = next
        }
    }

    /// The status, with each rule's cutoff and pending count as the caller measured them now.
    func status(measured: [RetentionPolicy.Rule: (before: LedgerTimestamp, pending: UInt64)]) -> RetentionStatus {
        self.state.withLockedValue { state in
            RetentionStatus(
                policy: self.policy.description,
                rules: self.policy.rules.map { rule in
                    RetentionStatus.Rule(
                        rule: rule.description, before: measured[rule]?.before, pending: measured[rule]?.pending ?? 0,
                        lastRemoved: state.lastRemoved[rule.description] ?? 0, removedSinceStart: state.removedSinceStart[rule.description] ?? 0)
                },
                lastPassStarted: state.lastPassStarted, lastPassFinished: state.lastPassFinished, nextPass: state.nextPass, note: state.note)
        }
    }
}
