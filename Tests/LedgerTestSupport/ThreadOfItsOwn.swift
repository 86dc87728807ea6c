import Foundation

/// Runs blocking work (a child process, a blocking read) on a thread of its own and waits for it.
///
/// The cooperative pool has as many threads as the machine has cores, two here: a test that
/// blocks one of them holds up every other test and the in-process daemon's connections, which
/// then miss their deadlines on a slow machine (a sanitizer's build) without anything being wrong.
public func onThreadOfItsOwn<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
    try await withCheckedThrowingContinuation { continuation in
        Thread {
            continuation.resume(with: Swift.Result { try body() })
        }.start()
    }
}
