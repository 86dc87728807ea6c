import Foundation
import NIOConcurrencyHelpers

/// A `ledgerd` process on a temporary socket and SQLite file.
final class Daemon: Sendable {
    enum Failure: Error, CustomStringConvertible {
        case exitedBeforeReady(status: Int32, stderr: String)

        var description: String {
            switch self {
            case .exitedBeforeReady(let status, let stderr): "ledgerd exited with status \(status) before it was ready: \(stderr)"
            }
        }
    }

    let socketPath: String
    let storePath: String
    private let process: Process
    private let log: NIOLockedValueBox<String>

    var stderr: String { self.log.withLockedValue { $0 } }

    /// `tls://127.0.0.1:PORT` from the ready line, when ledgerd listens for TLS.
    var tlsURL: String? {
        let ready = self.stderr.split(separator: "\n").first { $0.hasPrefix("ready") } ?? ""
        return ready.split(separator: " ").first { $0.hasPrefix("tls=") }.map { "tls://" + $0.dropFirst(4) }
    }

    /// Starts ledgerd and returns once it printed its `ready` line.
    /// - Parameter store: a `--store` value; by default a SQLite file in `directory`.
    /// - Parameter environment: added to the test's own; with `store: nil` and `XDG_DATA_HOME` set the daemon picks its default store.
    static func start(
        in directory: String, store: String? = "", extraArguments: [String] = [], environment: [String: String] = [:]
    ) async throws -> Daemon {
        let daemon = try Daemon(directory: directory, store: store, extraArguments: extraArguments, environment: environment)
        try await daemon.waitUntilReady()
        return daemon
    }

    private init(directory: String, store: String?, extraArguments: [String], environment: [String: String]) throws {
        self.socketPath = "\(directory)/ledgerd.sock"
        self.storePath = "\(directory)/ledger.sqlite"
        self.log = NIOLockedValueBox("")
        self.process = Process()
        self.process.executableURL = Binaries.url("ledgerd")
        let storeArguments = store.map { ["--store", $0.isEmpty ? "sqlite:\(self.storePath)" : $0] } ?? []
        self.process.arguments = ["--socket", self.socketPath] + storeArguments + extraArguments
        if !environment.isEmpty { self.process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        self.process.standardInput = FileHandle.nullDevice
        self.process.standardOutput = FileHandle.nullDevice
        // Far from the checkout, so every test also shows ledgerd finds its migrations from any directory.
        self.process.currentDirectoryURL = URL(fileURLWithPath: "/")
    }

    private func waitUntilReady() async throws {
        let pipe = Pipe()
        self.process.standardError = pipe
        try self.process.run()
        let ready: Bool = await withCheckedContinuation { continuation in
            // Keeps reading after `ready` so the daemon never blocks on a full stderr pipe.
            Thread {
                var resumed = false
                let handle = pipe.fileHandleForReading
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    let text = self.log.withLockedValue {
                        $0 += String(decoding: chunk, as: UTF8.self)
                        return $0
                    }
                    if !resumed, text.split(separator: "\n").contains(where: { $0.hasPrefix("ready") }) {
                        resumed = true
                        continuation.resume(returning: true)
                    }
                }
                if !resumed { continuation.resume(returning: false) }
            }.start()
        }
        if !ready {
            let status = await self.waitForExit()
            throw Failure.exitedBeforeReady(status: status, stderr: self.stderr)
        }
    }

    var processIdentifier: Int32 { self.process.processIdentifier }

    func signal(_ signal: Int32) {
        kill(self.process.processIdentifier, signal)
    }

    /// The exit status, or 128 + the signal that ended the process.
    func waitForExit() async -> Int32 {
        await withCheckedContinuation { continuation in
            Thread {
                self.process.waitUntilExit()
                let status = self.process.terminationReason == .uncaughtSignal ? 128 + self.process.terminationStatus : self.process.terminationStatus
                continuation.resume(returning: status)
            }.start()
        }
    }

    /// Stops the daemon however it is, for the end of a test.
    func stop() async {
        if self.process.isRunning {
            self.signal(SIGTERM)
        }
        _ = await self.waitForExit()
    }
}

/// A fresh directory under the system's temporary directory, short enough for a socket path.
func makeTemporaryDirectory() throws -> String {
    let path = "/tmp/ledger-e2e-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
