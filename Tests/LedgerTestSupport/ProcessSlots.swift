import NIOConcurrencyHelpers

/// Bounds how many helper processes the suite runs at once.
///
/// Swift Testing runs every test case side by side; with dozens of end-to-end cases each
/// spawning a tool, the test process passed a thousand descriptors and Foundation's `Process.run`
/// overran its buffers there. Each tool run waits for a slot first, in order of arrival.
public final class ProcessSlots: Sendable {
    public static let shared = ProcessSlots(count: 12)

    private struct State {
        var free: Int
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private let state: NIOLockedValueBox<State>

    public init(count: Int) {
        self.state = NIOLockedValueBox(State(free: count))
    }

    public func withSlot<Value>(_ body: () async throws -> Value) async rethrows -> Value {
        await self.acquire()
        defer { self.release() }
        return try await body()
    }

    private func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = self.state.withLockedValue { state -> Bool in
                if state.free > 0 {
                    state.free -= 1
                    return true
                }
                state.waiting.append(continuation)
                return false
            }
            if granted { continuation.resume() }
        }
    }

    private func release() {
        let next = self.state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            if state.waiting.isEmpty {
                state.free += 1
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }
}
