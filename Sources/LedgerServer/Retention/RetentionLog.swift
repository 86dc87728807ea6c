import LedgerProtocol
import NIOConcurrencyHelpers

/// What retention passes have done, kept for `ledger-rpc retention`: written by the service,
/// read by the dispatcher.
final class RetentionLog: Sendable {
    private let state: NIOLockedValueBox<State>

    private struct State {
        var policy: RetentionPolicy
        /// Counts replaced policies, so a service waiting for its next pass notices a new one.
        var generation = 0
        var lastRemoved: [String: UInt64] = [:]
        var removedSinceStart: [String: UInt64] = [:]
        var lastPassStarted: LedgerTimestamp?
        var lastPassFinished: LedgerTimestamp?
        var nextPass: LedgerTimestamp?
        var note = ""
    }

    init(policy: RetentionPolicy) {
        self.state = NIOLockedValueBox(State(policy: policy))
    }

    /// The policy in force: the one ledgerd started with, or the last SIGHUP read.
    var policy: RetentionPolicy {
        self.state.withLockedValue { $0.policy }
    }

    /// A new policy, applied from the next pass on, which starts within a second.
    func replacePolicy(_ policy: RetentionPolicy) {
        self.state.withLockedValue { state in
            state.policy = policy
            state.generation += 1
        }
    }

    /// Returns after `interval`, or within a second of the policy being replaced.
    func waitForNextPass(_ interval: Duration) async throws {
        let generation = self.state.withLockedValue { $0.generation }
        let deadline = ContinuousClock.now + interval
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: min(.seconds(1), deadline - ContinuousClock.now))
            if self.state.withLockedValue({ $0.generation }) != generation { return }
        }
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
                policy: state.policy.description,
                rules: state.policy.rules.map { rule in
                    RetentionStatus.Rule(
                        rule: rule.description, before: measured[rule]?.before, pending: measured[rule]?.pending ?? 0,
                        lastRemoved: state.lastRemoved[rule.description] ?? 0, removedSinceStart: state.removedSinceStart[rule.description] ?? 0)
                },
                lastPassStarted: state.lastPassStarted, lastPassFinished: state.lastPassFinished, nextPass: state.nextPass, note: state.note)
        }
    }
}
