import LedgerProtocol
import NIOCore

/// The frames a client has encoded and not yet handed to the socket, bounded in bytes.
///
/// Fire-and-forget frames count against the limit and are refused past it; a request someone
/// waits for always goes in, behind them, so a sync really follows what was logged before it.
struct ClientSendBuffer: Sendable {
    /// What a send buffer starts with, and the most a reused one may keep after a burst grew it.
    static let initialCapacity = 4_096
    static let largestReusedCapacity = 64 * 1_024

    let limitBytes: Int
    private var pending: ByteBuffer
    /// The buffer handed to the socket by the previous write. Once the channel has sent it, it is
    /// ours alone again and becomes the next `pending` without an allocation.
    private var spare: ByteBuffer?
    /// Fire-and-forget events in `pending`, counted as sent when they are taken.
    private(set) var events = 0

    init(limitBytes: Int) {
        self.limitBytes = limitBytes
        self.pending = ByteBufferAllocator().buffer(capacity: Self.initialCapacity)
    }

    var isEmpty: Bool { self.pending.readableBytes == 0 }

    /// Appends a frame nobody waits for; false, with nothing appended, when it would pass the limit.
    mutating func append(_ request: LedgerRequest, events: Int) -> Bool {
        let mark = self.pending.writerIndex
        request.encode(requestID: 0, into: &self.pending)
        guard self.pending.readableBytes <= self.limitBytes else {
            self.pending.moveWriterIndex(to: mark)
            return false
        }
        self.events += events
        return true
    }

    /// Appends a request whose answer a caller (or the gap reporter) waits for.
    mutating func append(_ request: LedgerRequest, requestID: UInt32) {
        request.encode(requestID: requestID, into: &self.pending)
    }

    /// Everything buffered, for one write, and the fire-and-forget events in it; nil when empty.
    mutating func take() -> (bytes: ByteBuffer, events: Int)? {
        guard !self.isEmpty else { return nil }
        let bytes = self.pending
        if var reused = self.spare.take() {
            // Allocates only when the socket still holds the previous write.
            reused.clear()
            self.pending = reused
        } else {
            self.pending = ByteBufferAllocator().buffer(capacity: Self.initialCapacity)
        }
        // A burst's large buffer goes with its write instead of staying with an idle client.
        self.spare = bytes.capacity <= Self.largestReusedCapacity ? bytes : nil
        defer { self.events = 0 }
        return (bytes, self.events)
    }

    /// Forgets everything buffered (the connection failed); returns the events lost.
    mutating func discard() -> Int {
        self.pending.clear()
        defer { self.events = 0 }
        return self.events
    }
}
