import Foundation

/// Runs `body` in a task of its own and returns its value, or nil once `seconds` have passed
/// without one, so that a hang fails a test instead of stalling the whole suite. A body that
/// hangs is left behind: a task group would wait for it.
public func withDeadline<Value: Sendable>(seconds: Int, _ body: @escaping @Sendable () async throws -> Value) async throws -> Value? {
    let race = DeadlineRace<Value>()
    return try await withCheckedThrowingContinuation { continuation in
        race.start(continuation)
        Task {
            do {
                race.finish(.success(try await body()))
            } catch {
                race.finish(.failure(error))
            }
        }
        Task {
            try? await Task.sleep(for: .seconds(seconds))
            race.finish(.success(nil))
        }
    }
}

/// The first of the body and the timer to finish resumes the caller; the other is ignored.
private final class DeadlineRace<Value: Sendable>: @unchecked Sendable {
    // @unchecked: `continuation` is read and cleared under `lock`, so it is resumed once.
    private let lock = NSLock()
    private var continuation: CheckedContinuation<Value?, any Error>?

    func start(_ continuation: CheckedContinuation<Value?, any Error>) {
        self.lock.withLock { self.continuation = continuation }
    }

    func finish(_ result: Result<Value?, any Error>) {
        let continuation = self.lock.withLock {
            defer { self.continuation = nil }
            return self.continuation
        }
        continuation?.resume(with: result)
    }
}
