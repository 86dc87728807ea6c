import Foundation
import NIOConcurrencyHelpers

/// Runs a command to completion with posix_spawn and waitpid, collecting its output.
///
/// Foundation's `Process` reaps children from a run loop, and can miss a child that
/// exits while many threads are busy; tests that stop and start servers need a wait
/// that cannot hang.
public enum Subprocess {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    public struct Failure: Error, CustomStringConvertible {
        public var command: [String]
        public var errno: Int32
        public var description: String { "cannot run \(command.joined(separator: " ")): \(String(cString: strerror(self.errno)))" }
    }

    static let spawning = NSLock()

    /// Adds "close every descriptor from 3 up" to a spawn's actions: the test process holds servers'
    /// and clients' sockets, and a child that inherited one would keep that connection open after
    /// the test closed it (Foundation's `Process` closes them the same way). glibc 2.34 has the
    /// action; Swift's Glibc module does not declare it, so it is looked up by name.
    static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return }
        _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3)
    }

    /// The test process's environment with `changes` applied, as `KEY=VALUE` strings for posix_spawn.
    public static func environment(_ changes: [String: String]) -> [String] {
        ProcessInfo.processInfo.environment.merging(changes) { $1 }.map { "\($0)=\($1)" }
    }

    /// - Parameter deadline: a child still running after this many seconds is killed (its status is
    ///   then 128 + SIGKILL), so a tool that should have exited fails its test instead of hanging the suite.
    /// The same, from async code: the blocking wait happens on a thread of its own, never on one of
    /// the cooperative pool's few threads, which the in-process daemon and every other test need.
    public static func run(_ arguments: [String], environment: [String: String] = [:], deadline: Int = 300) async throws -> Result {
        try await onThreadOfItsOwn { try Self.run(arguments, environment: environment, deadline: deadline) as Result }
    }

    public static func run(_ arguments: [String], environment changes: [String: String] = [:], deadline: Int = 300) throws -> Result {
        var output: [Int32] = [0, 0]
        var errors: [Int32] = [0, 0]
        // Until the child has its copies and ours are closed, no other spawn may run: a child spawned
        // meanwhile would inherit the pipes, a server it starts would hold them open, and the read
        // below would never end. Close-on-exec covers spawns made other ways, once it is set.
        spawning.lock()
        var locked = true
        defer { if locked { spawning.unlock() } }
        guard pipe(&output) == 0, pipe(&errors) == 0 else { throw Failure(command: arguments, errno: errno) }
        for descriptor in output + errors { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errors[1], 2)
        // The originals are closed in the child, so a daemon it starts cannot hold our pipes open.
        for descriptor in output + errors {
            posix_spawn_file_actions_addclose(&actions, descriptor)
        }
        Self.closeInheritedDescriptors(&actions)

        let cArguments = arguments.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        let cEnvironment = changes.isEmpty ? [] : Self.environment(changes).map { strdup($0) } + [nil]
        defer { cEnvironment.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = changes.isEmpty
            ? posix_spawnp(&pid, arguments[0], &actions, nil, cArguments, environ)
            : posix_spawnp(&pid, arguments[0], &actions, nil, cArguments, cEnvironment)
        close(output[1])
        close(errors[1])
        spawning.unlock()
        locked = false
        guard spawned == 0 else {
            close(output[0])
            close(errors[0])
            throw Failure(command: arguments, errno: spawned)
        }
        // Killed only while not yet reaped, so the pid cannot belong to another process by then.
        let reaped = NIOLockedValueBox(false)
        let child = pid
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(deadline)) {
            reaped.withLockedValue { done in
                if !done { kill(child, SIGKILL) }
            }
        }
        // Both pipes are drained at once so a chatty child never blocks on a full one.
        let errorText = ReadAll(descriptor: errors[0])
        let thread = Thread { errorText.read() }
        thread.start()
        let outputText = ReadAll(descriptor: output[0])
        outputText.read()
        errorText.wait()
        var status: Int32 = 0
        // The child may linger after closing its output (a daemon it started holds none of ours): wait for it
        // without reaping, so the deadline can still kill it; then reap it under the lock.
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR {}
        reaped.withLockedValue { done in
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            done = true
        }
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Result(status: exitStatus, stdout: outputText.text, stderr: errorText.text)
    }
}

/// Reads a descriptor to its end, then closes it.
private final class ReadAll: @unchecked Sendable {
    // @unchecked: `data` is written by one thread before `done` is signalled and read after.
    private let descriptor: Int32
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    func read() {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = Foundation.read(self.descriptor, &chunk, chunk.count)
            if count > 0 {
                self.data.append(contentsOf: chunk[0..<count])
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                break
            }
        }
        close(self.descriptor)
        self.done.signal()
    }

    func wait() {
        self.done.wait()
    }

    var text: String { String(decoding: self.data, as: UTF8.self) }
}
