import LedgerProtocol
import NIOCore

/// When a connection's peer has stalled, decided from the bytes it sent and the times given, with
/// no timers and no clock: `ConnectionDeadlines` reads the event loop's clock and runs the timers.
///
/// It follows the length prefixes itself, so it works whatever the handlers behind it do. A frame
/// that starts but does not finish within `frameDeadline` (slow loris), or no bytes either way for
/// `idleTimeout` with no request in hand, closes the connection. Time the daemon spends not reading (backpressure) is not
/// held against the peer.
struct ConnectionDeadlinesStateMachine {
    enum FrameTimer: Equatable {
        case none
        case cancel
        /// (Re)start the frame timer to fire after the deadline.
        case arm(TimeAmount)
    }

    enum Verdict: Equatable {
        case none
        case close(LedgerErrorCode, message: String)
        /// Look again at that time.
        case checkAgain(at: NIODeadline)
        case arm(TimeAmount)
    }

    let frameDeadline: TimeAmount?
    let idleTimeout: TimeAmount?

    /// Bytes still to come in the current frame; nil between frames.
    private var remaining: Int?
    /// The length prefix as far as it has arrived, and how many of its four bytes that is.
    private var prefix: UInt32 = 0
    private var prefixBytes = 0
    private var frameTimerArmed = false
    /// The last read or write. The idle check looks at it when it fires rather than being moved on
    /// every read and write, which would schedule and cancel a timer per frame.
    private var lastActivity = NIODeadline.uptimeNanoseconds(0)
    /// Whether the daemon asked for data since the frame timer was armed; if not, the wait is ours.
    private var readRequested = false
    private(set) var closed = false
    /// A tail: quiet on purpose, never closed for it.
    private(set) var streaming = false
    /// Frames that arrived whole so far: each is a request in hand from the moment its last byte is
    /// read, before the tasks above have even seen it.
    private(set) var framesRead = 0

    init(frameDeadline: TimeAmount?, idleTimeout: TimeAmount?) {
        self.frameDeadline = frameDeadline
        self.idleTimeout = idleTimeout
    }

    var isFrameOpen: Bool { self.remaining != nil || self.prefixBytes > 0 }

    /// The connection is up: the first idle check is due a timeout from now.
    mutating func activated(now: NIODeadline) -> NIODeadline? {
        guard let timeout = self.idleTimeout, !self.closed, !self.streaming else { return nil }
        self.lastActivity = now
        return now + timeout
    }

    mutating func readRequestedByDaemon() {
        self.readRequested = true
    }

    /// Bytes went either way; only the idle check looks at when, so only it needs the clock read.
    mutating func active(at now: NIODeadline) {
        self.lastActivity = now
    }

    /// Follows frame boundaries through the bytes read. The frame timer runs only while a frame is
    /// open at the end of a read, so frames that arrive whole cost no timer at all.
    mutating func read(_ bytes: ByteBufferView) -> FrameTimer {
        var index = bytes.startIndex
        var finishedOne = false
        while index < bytes.endIndex {
            if let remaining = self.remaining {
                let take = min(remaining, bytes.endIndex - index)
                index += take
                self.remaining = remaining == take ? nil : remaining - take
                finishedOne = finishedOne || remaining == take
                if remaining == take { self.framesRead += 1 }
            } else {
                self.prefix = self.prefix << 8 | UInt32(bytes[index])
                self.prefixBytes += 1
                index += 1
                if self.prefixBytes == 4 {
                    self.remaining = self.prefix == 0 ? nil : Int(self.prefix)
                    finishedOne = finishedOne || self.prefix == 0
                    if self.prefix == 0 { self.framesRead += 1 }
                    self.prefix = 0
                    self.prefixBytes = 0
                }
            }
        }
        if !self.isFrameOpen {
            guard self.frameTimerArmed else { return .none }
            self.frameTimerArmed = false
            return .cancel
        }
        guard finishedOne || !self.frameTimerArmed, let deadline = self.frameDeadline else { return .none }
        // The open frame started in this read: its deadline counts from now.
        self.readRequested = false
        self.frameTimerArmed = true
        return .arm(deadline)
    }

    /// The frame timer fired.
    mutating func frameTimerFired() -> Verdict {
        guard let deadline = self.frameDeadline, self.isFrameOpen, !self.closed else {
            self.frameTimerArmed = false
            return .none
        }
        guard self.readRequested else {
            // The daemon was not reading (backpressure): give the peer another full deadline.
            return .arm(deadline)
        }
        return self.close(.frameTimeout, "a frame started but did not finish within \(Self.seconds(deadline))")
    }

    /// The idle check is due. A peer with a request in hand is waiting for the daemon, not idle:
    /// its timeout counts from the answer, which moves `lastActivity` when it is written.
    mutating func idleCheck(now: NIODeadline, requestsInHand: Bool = false) -> Verdict {
        guard let timeout = self.idleTimeout, !self.closed, !self.streaming else { return .none }
        if requestsInHand { return .checkAgain(at: now + timeout) }
        let due = self.lastActivity + timeout
        if due > now { return .checkAgain(at: due) }
        return self.close(.idleTimeout, "no request for \(Self.seconds(timeout)); reconnect when needed")
    }

    /// The connection became a tail: no idle timeout from now on.
    mutating func becameStream() {
        self.streaming = true
    }

    private mutating func close(_ code: LedgerErrorCode, _ message: String) -> Verdict {
        guard !self.closed else { return .none }
        self.closed = true
        self.frameTimerArmed = false
        return .close(code, message: message)
    }

    static func seconds(_ amount: TimeAmount) -> String {
        let milliseconds = amount.nanoseconds / 1_000_000
        return milliseconds % 1_000 == 0 ? "\(milliseconds / 1_000) s" : "\(milliseconds) ms"
    }
}
