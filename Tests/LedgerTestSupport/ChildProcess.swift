import Foundation
import NIOConcurrencyHelpers

/// A long-running child (a daemon under test) started with posix_spawn: its standard error read
/// as it comes, its exit reaped by a thread of its own.
///
/// Foundation's `Process.run` corrupted memory once the test process held more than about a
/// thousand descriptors, as the suite does with its servers and clients side by side.
public final class ChildProcess: Sendable {
    public let pid: pid_t
    private let state = NIOLockedValueBox(State())

    private struct State {
        var stderr = ""
        var status: Int32?
        var exitWaiters: [CheckedContinuation<Int32, Never>] = []
        var outputWaiters: [(String, CheckedContinuation<Bool, Never>)] = []
        var outputClosed = false
    }

    /// Starts `arguments` with standard input and output on /dev/null and standard error captured.
    public init(_ arguments: [String], environment: [String: String] = [:]) throws {
        var errors: [Int32] = [0, 0]
        Subprocess.spawning.lock()
        defer { Subprocess.spawning.unlock() }
        guard pipe(&errors) == 0 else { throw Subprocess.Failure(command: arguments, errno: errno) }
        for descriptor in errors { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, errors[1], 2)
        for descriptor in errors { posix_spawn_file_actions_addclose(&actions, descriptor) }
        Subprocess.closeInheritedDescriptors(&actions)
        let cArguments = arguments.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        let cEnvironment = Subprocess.environment(environment).map { strdup($0) } + [nil]
        defer { cEnvironment.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, arguments[0], &actions, nil, cArguments, cEnvironment)
        close(errors[1])
        guard spawned == 0 else {
            close(errors[0])
            throw Subprocess.Failure(command: arguments, errno: spawned)
        }
        self.pid = pid
        let readEnd = errors[0]
        Thread { self.readErrors(readEnd) }.start()
        Thread { self.reap() }.start()
    }

    public var stderr: String { self.state.withLockedValue { $0.stderr } }
    public var isRunning: Bool { self.state.withLockedValue { $0.status == nil } }

    /// Waits until a line of standard error starts with `prefix`; false once the output ends without one.
    public func waitForLine(startingWith prefix: String) async -> Bool {
        await withCheckedContinuation { continuation in
            let answer: Bool? = self.state.withLockedValue { state in
                if Self.hasLine(state.stderr, prefix) { return true }
                if state.outputClosed { return false }
                state.outputWaiters.append((prefix, continuation))
                return nil
            }
            if let answer { continuation.resume(returning: answer) }
        }
    }

    /// The exit status, or 128 + the signal that ended it.
    public func waitForExit() async -> Int32 {
        await withCheckedContinuation { continuation in
            let status: Int32? = self.state.withLockedValue { state in
                if let status = state.status { return status }
                state.exitWaiters.append(continuation)
                return nil
            }
            if let status { continuation.resume(returning: status) }
        }
    }

    public func signal(_ signal: Int32) {
        if self.isRunning { kill(self.pid, signal) }
    }

    private static func hasLine(_ text: String, _ prefix: String) -> Bool {
        text.split(separator: "\n").contains { $0.hasPrefix(prefix) }
    }

    private func readErrors(_ descriptor: Int32) {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = read(descriptor, &chunk, chunk.count)
            if count < 0, errno == EINTR { continue }
            if count <= 0 { break }
            let ready: [CheckedContinuation<Bool, Never>] = self.state.withLockedValue { state in
                state.stderr += String(decoding: chunk[0..<count], as: UTF8.self)
                let (met, waiting) = (state.outputWaiters.filter { Self.hasLine(state.stderr, $0.0) }, state.outputWaiters.filter { !Self.hasLine(state.stderr, $0.0) })
                state.outputWaiters = waiting
                return met.map(\.1)
            }
            for waiter in ready { waiter.resume(returning: true) }
        }
        close(descriptor)
        let left = self.state.withLockedValue { state in
            state.outputClosed = true
            defer { state.outputWaiters = [] }
            return state.outputWaiters.map(\.1)
        }
        for waiter in left { waiter.resume(returning: false) }
    }

    private func reap() {
        var status: Int32 = 0
        while waitpid(self.pid, &status, 0) < 0 && errno == EINTR {}
        let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let waiters = self.state.withLockedValue { state in
            state.status = exit
            defer { state.exitWaiters = [] }
            return state.exitWaiters
        }
        for waiter in waiters { waiter.resume(returning: exit) }
    }
}
