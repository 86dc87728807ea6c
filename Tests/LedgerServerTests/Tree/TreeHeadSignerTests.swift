import Foundation
import LedgerProtocol
import LedgerStore
import LedgerTestSupport
import LedgerTree
import Logging
import Testing

@testable import LedgerServer

/// Each head the signer gives out is a row the store keeps for a week at least: whoever asks, and however
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
    static func head(size: UInt64, at timestamp: Int64) -> SignedTreeHead {
        SignedTreeHead(logID: [1], treeSize: size, rootHash: [], timestamp: LedgerTimestamp(rawValue: timestamp), signature: [])
    }

    @Test func headsOlderThanTheCutoffKeepTheLastOfEachHour() {
        let hour = HeadThinning.period
        let base = 1_790_000_000 * 1_000_000 / hour * hour
        // Three heads in the first hour, one in the second, two in the third (the cutoff falls in it), one after.
        let page = [
            Self.head(size: 1, at: base), Self.head(size: 2, at: base + 60_000_000), Self.head(size: 3, at: base + hour - 1),
            Self.head(size: 4, at: base + hour + 5), Self.head(size: 5, at: base + 2 * hour), Self.head(size: 6, at: base + 2 * hour + 10),
            Self.head(size: 7, at: base + 3 * hour),
        ]
        let cutoff = LedgerTimestamp(rawValue: base + 2 * hour + 5)
        let judged = HeadThinning.judge(page, before: cutoff)
        // Head 5 is older than the cutoff and its hour goes on with head 6, which is younger: it goes too.
        #expect(judged.remove == [1, 2, 5])
        #expect(judged.judged == 5)
        #expect(judged.caughtUp)

        // All older than the cutoff: the last is not judged, its next head being unknown.
        let all = HeadThinning.judge(page, before: LedgerTimestamp(rawValue: base + 10 * hour))
        #expect(all.remove == [1, 2, 5])
        #expect(all.judged == 6)
        #expect(HeadThinning.judge([], before: cutoff).judged == nil)
        #expect(HeadThinning.judge([page[0]], before: cutoff).remove.isEmpty)
    }

    /// A signer thins its own log's heads older than a week to the last of each hour, the newest
    /// always kept, and leaves another log's heads on the same database alone.
    @Test(arguments: StoreKind.durable)
    func theSignerThinsItsLogsOldHeadsOnly(kind: StoreKind) async throws {
        if kind == .postgres, TestPostgres.uri == nil, !TestPostgres.isRequired { return }
        let database = try await TestStore.make(kind)
        let store = try await database.open()
        let key = LogKey()
        try await store.openLog(key.publicKey)
        let hour = HeadThinning.period
        let old = (LedgerTimestamp.now().rawValue - HeadThinning.keepsEveryHeadFor - 10 * 86_400_000_000) / hour * hour
        // A head a minute for three hours, ten days older than the cutoff, then ten heads of now.
        for minute in 0..<180 {
            try await store.storeHead(try key.sign(size: UInt64(minute + 1), root: .empty, timestamp: LedgerTimestamp(rawValue: old + Int64(minute) * 60_000_000)))
        }
        for size in 181...190 { try await store.storeHead(try key.sign(size: UInt64(size), root: .empty, timestamp: .now())) }
        var other: (any EventStore)?
        let otherKey = LogKey()
        if kind == .postgres {
            other = try await database.open()
            try await other?.openLog(otherKey.publicKey)
            for size in 1...20 { try await other?.storeHead(try otherKey.sign(size: UInt64(size), root: .empty, timestamp: LedgerTimestamp(rawValue: old))) }
        }

        let signer = TreeHeadSigner(key: key, store: store, logger: Logger(label: "test"))
        await signer.thinHeads()
        let source = try #require(try await store.treeSource())
        let kept = try await source.heads(logID: key.publicKey.logID.bytes, fromSize: 0, limit: 1_000).map(\.treeSize)
        #expect(kept == [60, 120, 180] + Array(181...190))
        if kind == .postgres {
            #expect(try await source.heads(logID: otherKey.publicKey.logID.bytes, fromSize: 0, limit: 1_000).count == 20)
        }
        await other?.close()
        await store.close()
    }
}
