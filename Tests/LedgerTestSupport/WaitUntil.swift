/// Polls `condition` every `interval` until it holds, for at most `seconds`, so that a step that
/// never happens fails its test instead of stalling it: for what another process or task does in
/// its own time (a daemon's log line, a counter in its stats).
public func waitUntil(
    within seconds: Int, every interval: Duration = .milliseconds(100), _ condition: () async throws -> Bool
) async throws -> Bool {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: interval)
    }
    return try await condition()
}
