import Foundation
import LedgerTree

/// What the two halves of one batch, copied side by side on two connections, tell each other: the
/// second half's commit numbers, the log's tree after the first half's leaves, whether the second
/// half's rows went in, and whether the first half committed.
///
/// PostgreSQL's bulk load is one backend's work, so two copies at once load nearly twice as fast on
/// two cores (BENCHMARKS.md). The first half takes the numbers for both and commits first, and the
/// second commits only once the first has, so commit numbers still ascend in commit order, which
/// tails resume by. Each side waits on its own worker thread, and every way a side can end answers
/// what the other waits for, and every wait has a deadline, so neither waits forever.
final class PostgresCopyPair: @unchecked Sendable {
    // @unchecked: every field is read and written under `condition`.
    private let condition = NSCondition()
    private var secondNumbers: Result<SecondNumbers, StoreError>?
    private var secondCopy: Result<Void, StoreError>?
    private var firstCommit: Result<Void, StoreError>?
    private var firstTree: Result<TreeFrontier, StoreError>?
    private let deadline: TimeInterval

    /// - Parameter deadline: how long, in seconds, one side waits for the other's answer.
    init(deadline: TimeInterval = 30) {
        self.deadline = deadline
    }

    /// The numbers the first half took for the second, and its own leaves being hashed, which the
    /// second half's follow.
    struct SecondNumbers: Sendable {
        var numbers: [Int64]
        var firstLeaves: LeafHasher.Hashing?
    }

    /// From the first half: the numbers it took for the second, or why it could not.
    func publishSecondNumbers(_ numbers: Result<SecondNumbers, StoreError>) {
        self.settle(\.secondNumbers, numbers)
    }

    func waitForSecondNumbers() -> Result<SecondNumbers, StoreError> {
        self.wait(for: \.secondNumbers)
    }

    /// From the second half: its rows are in its open transaction, or it failed.
    func secondCopied(_ outcome: Result<Void, StoreError>) {
        self.settle(\.secondCopy, outcome)
    }

    func waitForSecondCopy() -> Result<Void, StoreError> {
        self.wait(for: \.secondCopy)
    }

    /// From the first half: the log's frontier after its leaves, which the second half's continue.
    func publishFirstTree(_ frontier: Result<TreeFrontier, StoreError>) {
        self.settle(\.firstTree, frontier)
    }

    func waitForFirstTree() -> Result<TreeFrontier, StoreError> {
        self.wait(for: \.firstTree)
    }

    /// From the first half: it committed, or it will not.
    func firstCommitted(_ outcome: Result<Void, StoreError>) {
        self.settle(\.firstCommit, outcome)
    }

    func waitForFirstCommit() -> Result<Void, StoreError> {
        self.wait(for: \.firstCommit)
    }

    /// The first half ended without committing: whatever the second still waits for is this error.
    func firstFailed(_ error: StoreError) {
        self.settle(\.secondNumbers, .failure(error))
        self.settle(\.firstTree, .failure(error))
        self.settle(\.firstCommit, .failure(error))
    }

    /// Only the first answer counts, so a side that fails after answering cannot take it back.
    private func settle<Value>(
        _ field: ReferenceWritableKeyPath<PostgresCopyPair, Result<Value, StoreError>?>, _ value: Result<Value, StoreError>
    ) {
        self.condition.lock()
        if self[keyPath: field] == nil {
            self[keyPath: field] = value
            self.condition.broadcast()
        }
        self.condition.unlock()
    }

    /// Waits for the other side's answer, for at most `deadline`: a side held up by something
    /// outside the pair (a lock another session holds) fails its half rather than the writer waiting for good.
    private func wait<Value>(for field: ReferenceWritableKeyPath<PostgresCopyPair, Result<Value, StoreError>?>) -> Result<Value, StoreError>
    {
        let deadline = Date(timeIntervalSinceNow: self.deadline)
        self.condition.lock()
        defer { self.condition.unlock() }
        while true {
            if let value = self[keyPath: field] { return value }
            if !self.condition.wait(until: deadline), self[keyPath: field] == nil {
                let error = StoreError(
                    code: .writeFailed,
                    message: "the other half of a split batch did not answer within \(Int(self.deadline)) s; both halves are rolled back")
                self[keyPath: field] = .failure(error)
                self.condition.broadcast()
                return .failure(error)
            }
        }
    }
}

/// The results of two jobs on two threads, handed to one waiting task once both are in.
final class PairOfResults<First: Sendable, Second: Sendable>: @unchecked Sendable {
    // @unchecked: `first` and `second` are read and written under `lock`; the continuation is resumed once.
    private let lock = NSLock()
    private var first: Result<First, StoreError>?
    private var second: Result<Second, StoreError>?
    private let continuation: CheckedContinuation<(Result<First, StoreError>, Result<Second, StoreError>), Never>

    init(_ continuation: CheckedContinuation<(Result<First, StoreError>, Result<Second, StoreError>), Never>) {
        self.continuation = continuation
    }

    func setFirst(_ result: Result<First, StoreError>) {
        self.lock.lock()
        self.first = result
        let both = self.second.map { (result, $0) }
        self.lock.unlock()
        if let both { self.continuation.resume(returning: both) }
    }

    func setSecond(_ result: Result<Second, StoreError>) {
        self.lock.lock()
        self.second = result
        let both = self.first.map { ($0, result) }
        self.lock.unlock()
        if let both { self.continuation.resume(returning: both) }
    }
}
