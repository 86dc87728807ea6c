import NIOConcurrencyHelpers

/// What became of an acknowledged request's events: settled once by the batch writer, after the
/// commit or when the store gave up on them, and awaited by the connection that owes the ack.
///
/// The task waiting on it is resumed straight from the batch writer. An `EventLoopPromise` would
/// first hop to the connection's event loop for every request, only to resume the same task there.
public final class CommitTicket: Sendable {
    private enum State {
        case pending(waiter: CheckedContinuation<Void, any Error>?)
        case settled(Result<Void, any Error>)
    }

    private let state = NIOLockedValueBox(State.pending(waiter: nil))
    /// When the request arrived, for the ack-latency histogram.
    let received = ContinuousClock.now

    public init() {}

    /// The events are committed.
    public func succeed() {
        self.settle(.success(()))
    }

    /// The events were not stored; the ack becomes this error.
    public func fail(_ error: any Error) {
        self.settle(.failure(error))
    }

    /// The first outcome counts; a later one is ignored.
    private func settle(_ result: Result<Void, any Error>) {
        let waiter = self.state.withLockedValue { state -> CheckedContinuation<Void, any Error>? in
            guard case .pending(let waiter) = state else { return nil }
            state = .settled(result)
            return waiter
        }
        waiter?.resume(with: result)
    }

    /// The outcome, or nil while the commit is pending: lets the acks of one commit go out in one write.
    public var settled: Result<Void, any Error>? {
        self.state.withLockedValue { state in
            if case .settled(let result) = state { return result }
            return nil
        }
    }

    /// Returns once the events are committed, or throws what kept them from the store.
    ///
    /// One task waits on a ticket: the connection's response writer. A ticket already settled
    /// answers without suspending, as the acks behind the first of a commit usually are.
    /// Cancelling the waiting task ends the wait with `CancellationError`.
    public func wait() async throws {
        if let result = self.settled { return try result.get() }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let result = self.state.withLockedValue { state -> Result<Void, any Error>? in
                    switch state {
                    case .settled(let result):
                        return result
                    case .pending:
                        // Cancelled before the wait began: the handler below found no waiter to end.
                        if Task.isCancelled { return .failure(CancellationError()) }
                        state = .pending(waiter: continuation)
                        return nil
                    }
                }
                if let result { continuation.resume(with: result) }
            }
        } onCancel: {
            // The connection that owes the ack is gone; the commit itself goes on and settles the ticket later.
            let waiter = self.state.withLockedValue { state -> CheckedContinuation<Void, any Error>? in
                guard case .pending(let waiter) = state else { return nil }
                state = .pending(waiter: nil)
                return waiter
            }
            waiter?.resume(throwing: CancellationError())
        }
    }
}
