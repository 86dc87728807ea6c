import Atomics
import Histogram
import LedgerFiles
import LedgerProtocol
import NIOCore
import NIOPosix

/// What one load connection sends.
struct LoadPlan: Sendable {
    var events: Int
    /// Events per frame: 1 sends `log_event`, more send `log_batch`.
    var batch: Int
    var acknowledged: Bool
    /// Acknowledged requests in flight at once on the connection.
    var window: Int
    var payloadBytes: Int
    /// Pacing for this connection; nil sends as fast as the daemon takes events.
    var eventsPerSecond: Double?
}

/// What one load connection saw.
struct LoadResult: Sendable {
    var events: Int
    var latency: Histogram<UInt64>
    var answered: Int
    var failed: Int
    /// Fire-and-forget frames the daemon refused.
    var rejected: Int
    var firstFailure: String?
}

/// One client connection driven as fast as the daemon takes it.
///
/// Unlike the thin client, which drops events when the daemon falls behind, this waits
/// for the socket (the daemon's backpressure), so it measures what the daemon can take.
/// Frames are gathered into writes of about 64 KiB, as the thin client's buffer does.
/// Fire-and-forget runs end each write with a `sync`, whose answer says when the daemon
/// committed what came before it: that is the latency reported for them.
enum LoadConnection {
    static let writeBytes = 64 * 1024

    static func run(socketPath: String, plan: LoadPlan, group: any EventLoopGroup, progress: ManagedAtomic<Int>, workerID: String) async throws -> LoadResult {
        let channel = try await ClientBootstrap(group: group).connect(unixDomainSocketPath: socketPath) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LedgerFrameDecoder(maximumFrameLength: 1 << 20)))
                return try NIOAsyncChannel<LedgerFrame, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
        let pending = PendingRequests(window: plan.acknowledged ? plan.window : Int.max / 2)
        let rejected = ManagedAtomic(0)
        try await channel.executeThenClose { inbound, outbound in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await frame in inbound {
                        let response = try LedgerResponse.decode(frame)
                        var failure: String?
                        if case .error(let error) = response {
                            if frame.requestID == 0 {
                                rejected.wrappingIncrement(ordering: .relaxed)
                                continue
                            }
                            failure = "\(error)"
                        }
                        if pending.answered(frame.requestID, at: monotonicNanoseconds(), failure: failure) { return }
                    }
                    throw LoadError.closedEarly
                }
                try await Self.write(plan: plan, to: outbound, pending: pending, progress: progress, workerID: workerID)
                try await group.waitForAll()
            }
        }
        let summary = pending.summary
        return LoadResult(
            events: plan.events, latency: summary.latency, answered: summary.answered, failed: summary.failed,
            rejected: rejected.load(ordering: .relaxed), firstFailure: summary.firstFailure)
    }

    private static func write(
        plan: LoadPlan, to outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>, pending: PendingRequests,
        progress: ManagedAtomic<Int>, workerID: String
    ) async throws {
        var events = SyntheticEvents(payloadBytes: plan.payloadBytes, workerID: workerID)
        var remaining = plan.events
        var nextRequestID: UInt32 = 1
        let allocator = ByteBufferAllocator()
        var batch: [LedgerEvent] = []
        batch.reserveCapacity(plan.batch)

        func nextFrame(into buffer: inout ByteBuffer, requestID: UInt32) -> Int {
            let count = min(plan.batch, remaining)
            let now = LedgerTimestamp.now()
            batch.removeAll(keepingCapacity: true)
            for offset in 0..<count {
                batch.append(events.next(at: LedgerTimestamp(rawValue: now.rawValue + Int64(offset))))
            }
            let request: LedgerRequest =
                count == 1
                ? .logEvent(LogEvent(event: batch[0], acknowledged: plan.acknowledged))
                : .logBatch(LogBatch(events: batch, acknowledged: plan.acknowledged))
            request.encode(requestID: requestID, into: &buffer)
            remaining -= count
            return count
        }

        let started = monotonicNanoseconds()
        while remaining > 0 {
            if let rate = plan.eventsPerSecond {
                // Paced: wait until the events sent so far are due.
                let due = started + UInt64(Double(plan.events - remaining) / rate * 1e9)
                let now = monotonicNanoseconds()
                if due > now { try await Task.sleep(for: .nanoseconds(Int64(due - now))) }
            }
            var buffer = allocator.buffer(capacity: Self.writeBytes + 4096)
            var written = 0
            if plan.acknowledged {
                let frames = await pending.acquire(
                    upTo: plan.eventsPerSecond == nil ? max(1, Self.writeBytes / (plan.batch * (plan.payloadBytes + 120))) : 1)
                let sentAt = monotonicNanoseconds()
                for _ in 0..<frames where remaining > 0 {
                    let id = nextRequestID
                    nextRequestID &+= 1
                    written += nextFrame(into: &buffer, requestID: id)
                    pending.sent(id, at: sentAt, last: remaining == 0)
                }
            } else {
                // Paced runs write a frame at a time, so events leave when they are due.
                let limit = plan.eventsPerSecond == nil ? Self.writeBytes : 1
                while remaining > 0, buffer.readableBytes < limit {
                    written += nextFrame(into: &buffer, requestID: 0)
                }
                let id = nextRequestID
                nextRequestID &+= 1
                LedgerRequest.sync.encode(requestID: id, into: &buffer)
                pending.sent(id, at: monotonicNanoseconds(), last: remaining == 0)
            }
            try await outbound.write(buffer)
            progress.wrappingIncrement(by: written, ordering: .relaxed)
        }
    }
}

enum LoadError: Error, CustomStringConvertible {
    case closedEarly

    var description: String {
        switch self {
        case .closedEarly: "ledgerd closed the connection before answering every request"
        }
    }
}
