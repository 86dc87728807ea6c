import Foundation
import NIOConcurrencyHelpers

/// A `ledgerd` process on a temporary socket and SQLite file.
public final class Daemon: Sendable {
    public enum Failure: Error, CustomStringConvertible {
        case exitedBeforeReady(status: Int32, stderr: String)

        public var description: String {
            switch self {
            case .exitedBeforeReady(let status, let stderr): "ledgerd exited with status \(status) before it was ready: \(stderr)"
            }
        }
    }

    public let socketPath: String
    public let storePath: String
    private let process: ChildProcess

    public var stderr: String { self.process.stderr }

    /// `tls://127.0.0.1:PORT` from the ready line, when ledgerd listens for TLS.
    public var tlsURL: String? {
        let ready = self.stderr.split(separator: "\n").first { $0.hasPrefix("ready") } ?? ""
        return ready.split(separator: " ").first { $0.hasPrefix("tls=") }.map { "tls://" + $0.dropFirst(4) }
    }

    /// Starts ledgerd and returns once it printed its `ready` line.
    /// - Parameter store: a `--store` value; by default a SQLite file in `directory`.
    /// - Parameter environment: added to the test's own; with `store: nil` and `XDG_DATA_HOME` set the daemon picks its default store.
    public static func start(
        in directory: String, store: String? = "", extraArguments: [String] = [], environment: [String: String] = [:]
    ) async throws -> Daemon {
        let daemon = try Daemon(directory: directory, store: store, extraArguments: extraArguments, environment: environment)
        try await daemon.waitUntilReady()
        return daemon
    }

    private init(directory: String, store: String?, extraArguments: [String], environment: [String: String]) throws {
        self.socketPath = "\(directory)/ledgerd.sock"
        self.storePath = "\(directory)/ledger.sqlite"
        let defaultStore = "sqlite:\(directory)/ledger.sqlite"
        let storeArguments = store.map { ["--store", $0.isEmpty ? defaultStore : $0] } ?? []
        // A PostgreSQL store's default signing key is in the data directory: the test's own, so that each
        // test's database has a key, and a last signed tree, of its own.
        var environment = environment
        if let store, !store.isEmpty, environment["XDG_DATA_HOME"] == nil { environment["XDG_DATA_HOME"] = directory }
        // `env -C /`: far from the checkout, so every test also shows ledgerd finds its migrations from any directory.
        self.process = try ChildProcess(
            ["/usr/bin/env", "-C", "/", Binaries.url("ledgerd").path, "--socket", self.socketPath] + storeArguments + extraArguments,
            environment: environment)
    }

    private func waitUntilReady() async throws {
        if !(await self.process.waitForLine(startingWith: "ready")) {
            let status = await self.waitForExit()
            throw Failure.exitedBeforeReady(status: status, stderr: self.stderr)
        }
    }

    public var processIdentifier: Int32 { self.process.pid }

    public var isRunning: Bool { self.process.isRunning }

    public func signal(_ signal: Int32) {
        self.process.signal(signal)
    }

    /// The exit status, or 128 + the signal that ended the process.
    public func waitForExit() async -> Int32 {
        await self.process.waitForExit()
    }

    /// Stops the daemon however it is, for the end of a test.
    public func stop() async {
        self.process.signal(SIGTERM)
        _ = await self.waitForExit()
    }
}
