import Foundation

/// The sync an SQLite store's log flusher calls, as the real `fdatasync`, behind a gate a test
/// can hold shut or make fail; it counts the syncs and checks that each is of the store's log file.
public final class SyncGate: @unchecked Sendable {
    // @unchecked: every field is read and written under `condition`.
    private let condition = NSCondition()
    private var shut = false
    private var failing = false
    private var waiting = 0
    private var syncs = 0
    private var syncedOtherFiles = 0
    public let logPath: String

    public init(logPath: String) {
        self.logPath = logPath
    }

    public func sync(_ descriptor: CInt) -> CInt {
        self.condition.lock()
        self.waiting += 1
        self.condition.broadcast()
        while self.shut { self.condition.wait() }
        self.waiting -= 1
        self.syncs += 1
        var file = stat()
        var log = stat()
        if fstat(descriptor, &file) != 0 || stat(self.logPath, &log) != 0 || file.st_ino != log.st_ino || file.st_dev != log.st_dev {
            self.syncedOtherFiles += 1
        }
        let failing = self.failing
        self.condition.unlock()
        if failing {
            errno = EIO
            return -1
        }
        return fdatasync(descriptor)
    }

    public func set(shut: Bool? = nil, failing: Bool? = nil) {
        self.condition.lock()
        if let shut { self.shut = shut }
        if let failing { self.failing = failing }
        self.condition.broadcast()
        self.condition.unlock()
    }

    /// Waits until a sync is held at the shut gate, for at most `seconds`, without holding a thread
    /// of the cooperative pool, which the store under test needs to get that far.
    /// - Returns: whether one was.
    public func heldSync(within seconds: Int = 120) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if self.isHolding { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return self.isHolding
    }

    private var isHolding: Bool {
        self.condition.lock()
        defer { self.condition.unlock() }
        return self.waiting > 0
    }

    public var counts: (syncs: Int, ofOtherFiles: Int) {
        self.condition.lock()
        defer { self.condition.unlock() }
        return (self.syncs, self.syncedOtherFiles)
    }
}
