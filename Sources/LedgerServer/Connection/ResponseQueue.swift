import Atomics
import LedgerProtocol
import NIOConcurrencyHelpers
import NIOCore

/// The responses one connection owes its client, in request order.
///
/// Bounded in responses and in bytes, from the moment a response is pushed until the writer
/// has handed it to the socket, so a client that never reads its answers stops being read from
/// rather than making the daemon hold its answers. Once the connection ends it is cancelled:
/// every wait in it returns at once and what it held is let go.
final class ResponseQueue: Sendable {
    enum Pending: Sendable {
        /// A response that can be written now.
        case ready(LedgerFrame)
        /// An ack to write once the events are committed (or an error if they could not be).
        case afterCommit(requestID: UInt32, committed: UInt32, CommitTicket)
        /// A live tail: every frame from here on belongs to it.
        case stream(requestID: UInt32, TailSubscription, after: TailCursor?)

        /// What the response holds until it is written: its encoded size, or what an ack will be.
        var bytes: Int {
            switch self {
            case .ready(let frame): return 4 + LedgerFrame.headerLength + frame.payload.readableBytes
            case .afterCommit: return Self.ackBytes
            case .stream: return 0
            }
        }

        /// An ack frame's size with some room for an error message in its place.
        static let ackBytes = 64
    }

    /// What a connection is owed: answers pushed and not yet handed to the socket.
    struct Owed: Sendable, Equatable {
        var responses: Int
        var bytes: Int
    }

    private struct State {
        var items: CircularBuffer<Pending> = CircularBuffer()
        /// Pushed and not yet written: the queued items and those the writer holds.
        var owed = Owed(responses: 0, bytes: 0)
        var finished = false
        var cancelled = false
        var reader: CheckedContinuation<Pending?, Never>?
        var writers: CircularBuffer<CheckedContinuation<Void, Never>> = CircularBuffer()
    }

    private let capacity: Int
    private let byteCapacity: Int
    private let bytesGauge: ManagedAtomic<Int64>?
    private let state = NIOLockedValueBox(State())

    /// - Parameters:
    ///   - capacity: most responses owed at once.
    ///   - byteCapacity: most bytes owed at once; a larger response is let in alone.
    ///   - bytesGauge: the daemon-wide count of bytes owed, which this queue adds its share to.
    init(capacity: Int, byteCapacity: Int, bytesGauge: ManagedAtomic<Int64>? = nil) {
        self.capacity = capacity
        self.byteCapacity = byteCapacity
        self.bytesGauge = bytesGauge
    }

    var owed: Owed {
        self.state.withLockedValue { $0.owed }
    }

    private func hasRoom(for item: Pending, in state: State) -> Bool {
        if state.owed.responses == 0 { return true }
        return state.owed.responses < self.capacity && state.owed.bytes + item.bytes <= self.byteCapacity
    }

    /// Adds a response, suspending while the queue is full.
    ///
    /// - Returns: false once the queue was cancelled (the connection is gone): stop reading requests.
    func push(_ item: Pending) async -> Bool {
        enum Outcome { case queued, dropped, refused, full }
        while true {
            let outcome: Outcome = self.state.withLockedValue { state in
                if state.cancelled { return .refused }
                // After `finish()` nothing is written any more: the item is dropped.
                if state.finished { return .dropped }
                guard self.hasRoom(for: item, in: state) else { return .full }
                state.owed.responses += 1
                state.owed.bytes += item.bytes
                if let reader = state.reader {
                    state.reader = nil
                    reader.resume(returning: item)
                } else {
                    state.items.append(item)
                }
                return .queued
            }
            switch outcome {
            case .queued:
                self.bytesGauge?.wrappingIncrement(by: Int64(item.bytes), ordering: .relaxed)
                return true
            case .dropped: return true
            case .refused: return false
            case .full: break
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow: Bool = self.state.withLockedValue { state in
                        if state.cancelled || state.finished || self.hasRoom(for: item, in: state) { return true }
                        state.writers.append(continuation)
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            } onCancel: {
                self.cancel()
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

    /// The connection is gone: drops what is owed and ends every wait, now and later.
    func cancel() {
        let (reader, writers, released) = self.state.withLockedValue { state in
            let released = state.owed.bytes
            state.cancelled = true
            state.finished = true
            state.items.removeAll()
            state.owed = Owed(responses: 0, bytes: 0)
            defer {
                state.reader = nil
                state.writers.removeAll()
            }
            return (state.reader, state.writers, released)
        }
        if released != 0 { self.bytesGauge?.wrappingIncrement(by: -Int64(released), ordering: .relaxed) }
        reader?.resume(returning: nil)
        for writer in writers { writer.resume() }
    }

    /// The writer handed these responses to the socket: their room is free again.
    func written(responses: Int, bytes: Int) {
        let writers: [CheckedContinuation<Void, Never>]? = self.state.withLockedValue { state in
            guard !state.cancelled else { return nil }
            state.owed.responses -= responses
            state.owed.bytes -= bytes
            // Each waiting pusher re-checks for room itself; waking them all keeps none waiting on room it could take.
            defer { state.writers.removeAll() }
            return Array(state.writers)
        }
        guard let writers else { return }
        self.bytesGauge?.wrappingIncrement(by: -Int64(bytes), ordering: .relaxed)
        for writer in writers { writer.resume() }
    }

    /// The next response if it can be written right now (ready, or an ack whose commit is
    /// already known); never suspends. Lets the writer put the acks of one group commit in one write.
    func nextIfSettled() -> Pending? {
        self.state.withLockedValue { state in
            guard let first = state.items.first else { return nil }
            switch first {
            case .ready: break
            case .afterCommit(_, _, let ticket): if ticket.settled == nil { return nil }
            case .stream: return nil
            }
            return state.items.removeFirst()
        }
    }

    /// The next response, or nil once the queue is finished and drained, or cancelled.
    func next() async -> Pending? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Pending?, Never>) in
                let result: Pending?? = self.state.withLockedValue { state in
                    if let item = state.items.popFirst() { return .some(item) }
                    if state.finished { return .some(nil) }
                    state.reader = continuation
                    return nil
                }
                if let result { continuation.resume(returning: result) }
            }
        } onCancel: {
            self.cancel()
        }
    }
}
