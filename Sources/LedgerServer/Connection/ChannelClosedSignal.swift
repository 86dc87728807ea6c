import NIOConcurrencyHelpers
import NIOCore

/// Lets a connection's task wait for its channel to close, and be cancelled out of the wait.
///
/// `closeFuture.get()` ignores cancellation, so a task awaiting it could not be ended when the
/// connection's other tasks finish first.
final class ChannelClosedSignal: Sendable {
    private struct State {
        var closed = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = NIOLockedValueBox(State())

    init(_ channel: any Channel) {
        channel.closeFuture.whenComplete { [self] _ in self.release() }
    }

    /// Returns once the channel is closed or the task is cancelled.
    func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = self.state.withLockedValue { state -> Bool in
                    if state.closed || Task.isCancelled { return true }
                    state.waiter = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            self.release()
        }
    }

    private func release() {
        let waiter = self.state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            state.closed = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}
