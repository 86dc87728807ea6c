import Foundation
import LedgerClient
import LedgerProtocol
import LedgerTestSupport
import Testing

/// A tail read through `LedgerClient`, against the real ledgerd: the client reads a batch only
/// when its consumer is ready, so a slow consumer is skipped ahead by the daemon's bounded buffer
/// instead of piling every batch up in the client's memory.
@Suite struct TailStreamTests {
    static func clips(_ round: Int, count: Int) -> [LedgerEvent] {
        let metadata = #"{"padding":""# + String(repeating: "x", count: 200) + #""}"#
        return (0..<count).map { index in
            LedgerClient.makeEvent(eventType: "clip_created", entityType: "clip", entityID: "c-\(round)-\(index)", metadata: metadata)
        }
    }

    @Test func aConsumerThatStopsTakingBatchesIsSkippedAheadAndToldHowFar() async throws {
        let directory = try TemporaryDirectory("tail-stream")
        let daemon = try await Daemon.start(in: directory.path, extraArguments: ["--tail-buffer-bytes", "65536"])
        let tailing = LedgerClient(socketPath: daemon.socketPath)
        let writer = LedgerClient(socketPath: daemon.socketPath)
        var batches = tailing.tail().makeAsyncIterator()
        let live = try #require(try await batches.next())
        #expect(live.events.isEmpty && live.missed == 0)

        // The consumer takes nothing while 20,000 events (about 6 MB) are committed, a hundred at a
        // time: each commit fits the daemon's buffer for the tail, so only a reader that stopped
        // reading the socket falls behind it.
        let total = 20_000
        for round in 0..<200 {
            try await writer.logAcknowledged(Self.clips(round, count: 100))
        }
        let stats = try await writer.stats()
        let missed = try #require(stats[counter: "tail_missed"])
        #expect(missed > 0, "the daemon skipped the stalled consumer ahead: the client did not read every batch off the socket")

        // Taking batches again, it learns how much it missed; delivered and missed add up to everything.
        var delivered = 0
        var reported: UInt64 = 0
        while delivered + Int(reported) < total {
            let batch = try #require(try await batches.next())
            delivered += batch.events.count
            reported += batch.missed
        }
        #expect(reported == UInt64(missed))
        #expect(delivered + Int(reported) == total)
        await tailing.shutdown()
        await writer.shutdown()
        await daemon.stop()
    }

    @Test func endingTheIterationClosesTheTailsConnection() async throws {
        let directory = try TemporaryDirectory("tail-stream")
        let daemon = try await Daemon.start(in: directory.path)
        let tailing = LedgerClient(socketPath: daemon.socketPath)
        let writer = LedgerClient(socketPath: daemon.socketPath)
        for try await batch in tailing.tail() {
            #expect(batch.events.isEmpty)
            break
        }
        // The daemon sees the subscriber leave once its connection closes.
        #expect(try await waitUntil(within: 60) { try await writer.stats()[counter: "tail_subscribers"] == 0 })
        await tailing.shutdown()
        await writer.shutdown()
        await daemon.stop()
    }
}
