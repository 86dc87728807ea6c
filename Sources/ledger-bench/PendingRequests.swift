import Histogram
import NIOConcurrencyHelpers

/// The requests one load connection has sent and not yet had answered: when each was
/// sent, how many more may be in flight, and the latency of those already answered.
final class PendingRequests: Sendable {
    private struct State {
        var sentAt: [UInt32: UInt64] = [:]
        var window: Int
        var waiter: CheckedContinuation<Int, Never>?
        var wanted = 0
        var writerFinished = false
        var latency = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
        var answered = 0
        var failed = 0
        var firstFailure: String?
    }

    private let state: NIOLockedValueBox<State>

    init(window: Int) {
        self.state = NIOLockedValueBox(State(window: window))
    }

    /// Waits for room in the window and takes up to `count` places in it (at least one).
    func acquire(upTo count: Int) async -> Int {
        if let granted = self.state.withLockedValue({ state -> Int? in
            guard state.window > 0 else { return nil }
            let granted = min(count, state.window)
            state.window -= granted
            return granted
        }) {
            return granted
        }
        return await withCheckedContinuation { continuation in
            let granted: Int? = self.state.withLockedValue { state in
                if state.window > 0 {
                    let granted = min(count, state.window)
                    state.window -= granted
                    return granted
                }
                state.waiter = continuation
                state.wanted = count
                return nil
            }
            if let granted { continuation.resume(returning: granted) }
        }
    }

    func sent(_ requestID: UInt32, at nanoseconds: UInt64, last: Bool = false) {
        self.state.withLockedValue { state in
            state.sentAt[requestID] = nanoseconds
            if last { state.writerFinished = true }
        }
    }

    /// Records the answer to a request. - Returns: true once the last request is answered.
    func answered(_ requestID: UInt32, at nanoseconds: UInt64, failure: String?) -> Bool {
        let (done, wake): (Bool, (CheckedContinuation<Int, Never>, Int)?) = self.state.withLockedValue { state in
            guard let sentAt = state.sentAt.removeValue(forKey: requestID) else { return (false, nil) }
            state.answered += 1
            if let failure {
                state.failed += 1
                if state.firstFailure == nil { state.firstFailure = failure }
            }
            _ = state.latency.record(max(1, (nanoseconds &- sentAt) / 1_000))
            state.window += 1
            var wake: (CheckedContinuation<Int, Never>, Int)?
            if let waiter = state.waiter {
                let granted = min(state.wanted, state.window)
                state.window -= granted
                state.waiter = nil
                wake = (waiter, granted)
            }
            return (state.writerFinished && state.sentAt.isEmpty, wake)
        }
        if let (waiter, granted) = wake { waiter.resume(returning: granted) }
        return done
    }

    var summary: (latency: Histogram<UInt64>, answered: Int, failed: Int, firstFailure: String?) {
        self.state.withLockedValue { ($0.latency, $0.answered, $0.failed, $0.firstFailure) }
    }
}
