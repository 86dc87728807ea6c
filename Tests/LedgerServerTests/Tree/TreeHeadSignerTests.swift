import Foundation
import LedgerProtocol
import LedgerStore
import LedgerTestSupport
import LedgerTree
import Logging
import Testing

@testable import LedgerServer

/// Each head the signer gives out is a row the store keeps for good: whoever asks, and however
/// often, it signs at most one an interval, and each one still covers every event committed before it.
@Suite struct TreeHeadSignerTests {
    @Test func aClientAskingInALoopGetsCoveringHeadsButNoMoreThanOneAnInterval() async throws {
        let directory = try makeTemporaryDirectory("signer")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let logger = Logger(label: "test")
        let store = try await SQLiteStore(path: directory + "/ledger.sqlite", logger: logger)
        let key = LogKey()
        try await store.openLog(key.publicKey)
        let interval = Duration.milliseconds(200)
        let signer = TreeHeadSigner(key: key, store: store, interval: interval, logger: logger)

        let started = ContinuousClock.now
        let rounds = 12
        for round in 1...rounds {
            let event = LedgerEvent(id: UUID(), eventType: "job_created", entityType: "job", entityID: "j-\(round)")
            _ = try await store.insert(requests: [[event]])
            let head = try #require(try await signer.signIfGrown())
            #expect(head.treeSize == UInt64(round), "a head covers every event committed before it was asked for")
            #expect(key.publicKey.isValidSignature(head))
        }
        let elapsed = started.duration(to: .now)
        let source = try #require(try await store.treeSource())
        let stored = try await source.heads(logID: key.publicKey.logID.bytes, fromSize: 0, limit: 1_000)
        #expect(stored.count == rounds)
        // One a round, and the rounds could only go as fast as the interval let them.
        let allowed = Int(elapsed / interval) + 1
        #expect(stored.count <= allowed, "\(stored.count) heads stored in \(elapsed), at most \(allowed) allowed")
        #expect(elapsed >= interval * (rounds - 1))
        await store.close()
    }
}
