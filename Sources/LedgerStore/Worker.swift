import NIOPosix
import Synchronization

/// One thread that owns a piece of non-thread-safe state (a database connection)
/// and runs blocking closures against it, off every event loop and off the
/// cooperative pool.
final class Worker<State>: @unchecked Sendable {
    // @unchecked: `state` is created on the pool's single thread and only ever touched
    // from closures that `NIOThreadPool` runs on that same thread, one at a time.
    private let pool: NIOThreadPool
    private var state: State?
    private let queued = Atomic<Int>(0)

    /// Whether closures are waiting for the thread: a long piece of background work that checks it
    /// can stop early and let them in.
    var othersWaiting: Bool {
        self.queued.load(ordering: .relaxed) > 0
    }

    init(name: String, makeState: @escaping @Sendable () throws(StoreError) -> State) async throws(StoreError) {
        self.pool = NIOThreadPool(numberOfThreads: 1)
        self.pool.start()
        do {
            let box = try await self.pool.runIfActive { () throws(StoreError) -> UncheckedBox<State> in
                UncheckedBox(try makeState())
            }
            self.state = box.value
        } catch let error as StoreError {
            try? await self.pool.shutdownGracefully()
            throw error
        } catch {
            try? await self.pool.shutdownGracefully()
            throw StoreError(code: .unavailable, message: "\(name) could not start: \(error)")
        }
    }

    func run<Result: Sendable>(_ body: @escaping @Sendable (State) throws(StoreError) -> Result) async throws(StoreError) -> Result {
        self.queued.add(1, ordering: .relaxed)
        do {
            return try await self.pool.runIfActive { () throws(StoreError) -> Result in
                self.queued.subtract(1, ordering: .relaxed)
                guard let state = self.state else { throw StoreError(code: .closed, message: "the store is closed") }
                return try body(state)
            }
        } catch let error as StoreError {
            throw error
        } catch {
            // Only the closure throws StoreError: anything else means it never ran, and no longer waits.
            self.queued.subtract(1, ordering: .relaxed)
            // A shut-down pool reports CancellationError too; only a cancelled caller is a cancellation.
            if error is CancellationError, Task.isCancelled {
                throw StoreError(code: .cancelled, message: "the request was cancelled before it ran")
            }
            throw StoreError(code: .closed, message: "the store is closed")
        }
    }

    /// Starts `body` on the thread and returns at once; `done` gets its result on that thread, or
    /// `StoreError.Code.closed` without it running once the worker is shut down.
    func start<Result>(
        _ body: @escaping @Sendable (State) throws(StoreError) -> Result,
        done: @escaping @Sendable (Swift.Result<Result, StoreError>) -> Void
    ) {
        self.queued.add(1, ordering: .relaxed)
        self.pool.submit { work in
            self.queued.subtract(1, ordering: .relaxed)
            guard case .active = work, let state = self.state else {
                return done(.failure(StoreError(code: .closed, message: "the store is closed")))
            }
            do throws(StoreError) {
                done(.success(try body(state)))
            } catch {
                done(.failure(error))
            }
        }
    }

    func shutdown() async {
        _ = try? await self.pool.runIfActive { self.state = nil }
        try? await self.pool.shutdownGracefully()
    }
}

/// Carries a value across the hop back from the worker thread; the value is not used there afterwards.
struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value

    init(_ value: Value) {
        self.value = value
    }
}
