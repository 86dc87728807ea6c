import NIOConcurrencyHelpers

/// Several workers over connections of the same kind, each job given to the least busy one.
///
/// Queries from different clients then run side by side (SQLite's WAL lets readers read while
/// the writer writes, PostgreSQL serves each connection apart), so one client's slow count does
/// not put every other client's page behind it.
final class WorkerPool<State>: Sendable {
    private let workers: [Worker<State>]
    /// Jobs given to each worker and not yet finished.
    private let busy: NIOLockedValueBox<[Int]>

    init(name: String, count: Int, makeState: @escaping @Sendable () throws(StoreError) -> State) async throws(StoreError) {
        var workers: [Worker<State>] = []
        do {
            for index in 0..<max(1, count) {
                workers.append(try await Worker(name: "\(name)-\(index + 1)", makeState: makeState))
            }
        } catch {
            for worker in workers { await worker.shutdown() }
            throw error
        }
        self.workers = workers
        self.busy = NIOLockedValueBox(Array(repeating: 0, count: workers.count))
    }

    var count: Int { self.workers.count }

    func run<Result: Sendable>(_ body: @escaping @Sendable (State) throws(StoreError) -> Result) async throws(StoreError) -> Result {
        let index = self.busy.withLockedValue { busy in
            let index = busy.indices.min { busy[$0] < busy[$1] } ?? 0
            busy[index] += 1
            return index
        }
        defer { self.busy.withLockedValue { $0[index] -= 1 } }
        return try await self.workers[index].run(body)
    }

    func shutdown() async {
        for worker in self.workers { await worker.shutdown() }
    }
}
