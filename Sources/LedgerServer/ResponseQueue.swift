import LedgerProtocol
import NIOConcurrencyHelpers
import NIOCore

/// The responses one connection owes its client, in request order.
///
/// Bounded, so a client that sends acknowledged events but never reads its
/// acks stops being read from, rather than making the daemon hold its acks.
final class ResponseQueue: Sendable {
    enum Pending: Sendable {
        /// A response that can be written now.
        case ready(LedgerFrame)
        /// An ack to write once the events are committed (or an error if they could not be).
        case afterCommit(requestID: UInt32, committed: UInt32, CommitTicket)
        /// A live tail: every frame from here on belongs to it.
        case stream(requestID: UInt32, TailSubscription, after: TailCursor?)
    }

    private struct State {
        var items: CircularBuffer<Pending> = CircularBuffer()
        var finished = false
        var reader: CheckedContinuation<Pending?, Never>?
        var writers: CircularBuffer<CheckedContinuation<Void, Never>> = CircularBuffer()
    }

    private let capacity: Int
    private let state = NIOLockedValueBox(State())

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Adds a response, suspending while `capacity` are waiting to be written.
    func push(_ item: Pending) async {
        while true {
            let pushed: Bool = self.state.withLockedValue { state in
                if state.finished { return true }
                guard state.items.count < self.capacity else { return false }
                if let reader = state.reader {
                    state.reader = nil
                    reader.resume(returning: item)
                } else {
                    state.items.append(item)
                }
                return true
            }
            if pushed { return }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let room: Bool = self.state.withLockedValue { state in
                    if state.finished || state.items.count < self.capacity { return true }
                    state.writers.append(continuation)
                    return false
                }
                if room { continuation.resume() }
            }
        }
    }

    /// No more responses will be pushed; `next()` returns nil after the last one.
    func finish() {
        let reader: CheckedContinuation<Pending?, Never>? = self.state.withLockedValue { state in
            state.finished = true
            defer { state.reader = nil }
            return state.items.isEmpty ? state.reader : nil
        }
        reader?.resume(returning: nil)
    }

    /// The next response if it can be written right now (ready, or an ack whose commit is
    /// already known); never suspends. Lets the writer put the acks of one group commit in one write.
    func nextIfSettled() -> Pending? {
        let (item, writer): (Pending?, CheckedContinuation<Void, Never>?) = self.state.withLockedValue { state in
            guard let first = state.items.first else { return (nil, nil) }
            switch first {
            case .ready: break
            case .afterCommit(_, _, let ticket): if ticket.settled == nil { return (nil, nil) }
            case .stream: return (nil, nil)
            }
            state.items.removeFirst()
            return (first, state.writers.popFirst())
        }
        writer?.resume()
        return item
    }

    func next() async -> Pending? {
        await withCheckedContinuation { (continuation: CheckedContinuation<Pending?, Never>) in
            let (result, writer): (Pending??, CheckedContinuation<Void, Never>?) = self.state.withLockedValue { state in
                if let item = state.items.popFirst() {
                    return (.some(item), state.writers.popFirst())
                }
                if state.finished { return (.some(nil), nil) }
                state.reader = continuation
                return (nil, nil)
            }
            writer?.resume()
            if let result { continuation.resume(returning: result) }
        }
    }
}
