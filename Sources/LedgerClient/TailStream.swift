import LedgerProtocol
import NIOConcurrencyHelpers
import NIOCore

/// The batches of a tail, as `LedgerClient.tail` streams them.
///
/// A batch is read from the connection only once the consumer is ready for it (at most two wait
/// unread), so a consumer slower than the daemon's commits holds a few batches, not everything
/// committed since: the socket fills, the daemon's own bounded buffer for this tail skips ahead,
/// and the next batch's `missed` says by how many events. Ending the iteration, or cancelling its
/// task, closes the connection.
public struct TailStream: AsyncSequence, Sendable {
    public typealias Element = TailBatch

    typealias Producer = NIOThrowingAsyncSequenceProducer<
        TailBatch, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, TailDemand
    >

    let producer: Producer

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: Producer.AsyncIterator

        public mutating func next() async throws -> TailBatch? {
            try await self.base.next()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: self.producer.makeAsyncIterator())
    }

    /// A stream whose batches `read` yields into its source; `read` runs in a task of its own that
    /// ends when the consumer stops.
    static func reading(_ read: @escaping @Sendable (_ source: Producer.Source, _ demand: TailDemand) async -> Void) -> TailStream {
        let demand = TailDemand()
        let made = Producer.makeSequence(
            elementType: TailBatch.self, failureType: (any Error).self,
            backPressureStrategy: .init(lowWatermark: 1, highWatermark: 2), finishOnDeinit: true, delegate: demand)
        let source = made.source
        demand.started(Task { await read(source, demand) })
        return TailStream(producer: made.sequence)
    }
}

/// The consumer's demand, as the producer's back-pressure strategy reports it: the reading task
/// waits here after a batch fills the buffer, and is cancelled when the consumer goes away.
final class TailDemand: NIOAsyncSequenceProducerDelegate, Sendable {
    private struct State {
        /// How many times the consumer asked for more; a waiter compares it with what it saw before.
        var requests = 0
        var terminated = false
        var waiter: (after: Int, continuation: CheckedContinuation<Void, Never>)?
        var task: Task<Void, Never>?
    }

    private let state = NIOLockedValueBox(State())

    func started(_ task: Task<Void, Never>) {
        let cancelled = self.state.withLockedValue { state in
            state.task = task
            return state.terminated
        }
        if cancelled { task.cancel() }
    }

    /// The number of requests so far: read it before a yield, and wait beyond it if the yield says stop.
    var requests: Int { self.state.withLockedValue { $0.requests } }

    /// Returns once the consumer asks for more after `seen` requests, or has gone.
    func waitForMore(after seen: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = self.state.withLockedValue { state in
                guard state.requests <= seen, !state.terminated else { return true }
                state.waiter = (seen, continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    func produceMore() {
        let waiter = self.state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            state.requests += 1
            guard let waiter = state.waiter, state.requests > waiter.after else { return nil }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume()
    }

    func didTerminate() {
        let (waiter, task) = self.state.withLockedValue { state -> (CheckedContinuation<Void, Never>?, Task<Void, Never>?) in
            state.terminated = true
            defer { state.waiter = nil }
            return (state.waiter?.continuation, state.task)
        }
        task?.cancel()
        waiter?.resume()
    }
}
