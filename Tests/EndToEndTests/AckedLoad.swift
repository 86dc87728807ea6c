import Foundation
import LedgerClient
import LedgerProtocol
import NIOConcurrencyHelpers
import Synchronization

/// Clients on their own connections, each sending acknowledged batches in a loop, remembering
/// every id it sent and every id the daemon acknowledged.
final class AckedLoad: Sendable {
    let acknowledged = NIOLockedValueBox<[UUID]>([])
    let sent = NIOLockedValueBox<Set<UUID>>([])
    let failures = NIOLockedValueBox<[String]>([])
    private let stop = Atomic<Bool>(false)
    private let task = NIOLockedValueBox<Task<Void, Never>?>(nil)

    /// - Parameter stopOnError: a client stops at its first error (the daemon is gone); otherwise it keeps trying.
    /// - Parameter fireAndForgetClients: more clients that log without waiting; their ids count as sent, never as acknowledged.
    init(socket: String, clients: Int, batch: Int, requestTimeoutSeconds: Int64 = 60, stopOnError: Bool, fireAndForgetClients: Int = 0) {
        var configuration = LedgerClientConfiguration(socketPath: socket)
        configuration.requestTimeout = .seconds(requestTimeoutSeconds)
        let settings = configuration
        let task = Task {
            await withTaskGroup(of: Void.self) { group in
                for client in 0..<clients {
                    group.addTask {
                        let ledger = LedgerClient(configuration: settings)
                        var index = 0
                        while !self.stop.load(ordering: .relaxed) {
                            let events = (0..<batch).map { offset in
                                LedgerClient.makeEvent(eventType: "job_processing_completed", entityType: "job", entityID: "c\(client)-\(index + offset)")
                            }
                            index += batch
                            self.sent.withLockedValue { $0.formUnion(events.map(\.id)) }
                            do {
                                try await ledger.logAcknowledged(events)
                                self.acknowledged.withLockedValue { $0 += events.map(\.id) }
                            } catch {
                                self.failures.withLockedValue { $0.append("\(error)") }
                                if stopOnError { break }
                            }
                        }
                        await ledger.shutdown()
                    }
                }
                for client in 0..<fireAndForgetClients {
                    group.addTask {
                        let ledger = LedgerClient(configuration: settings)
                        var index = 0
                        while !self.stop.load(ordering: .relaxed) {
                            let id = ledger.logEvent(eventType: "clip_created", entityType: "clip", entityID: "f\(client)-\(index)")
                            self.sent.withLockedValue { _ = $0.insert(id) }
                            index += 1
                            if index % 50 == 0 { try? await Task.sleep(for: .milliseconds(1)) }
                        }
                        await ledger.shutdown()
                    }
                }
            }
        }
        self.task.withLockedValue { $0 = task }
    }

    var acknowledgedCount: Int { self.acknowledged.withLockedValue { $0.count } }

    /// Why the clients did not get as far as a test needed, so that a slow or failing run says so
    /// instead of going on to assert on a load that never happened.
    struct Shortfall: Error, CustomStringConvertible {
        let wanted: Int
        let acknowledged: Int
        let failures: [String]
        var description: String {
            "\(self.acknowledged) of the \(self.wanted) events wanted were acknowledged in time; the clients' errors: \(self.failures)"
        }
    }

    /// Waits until the clients hold `count` acknowledgements; throws `Shortfall` at the deadline, which
    /// allows for a sanitizer build sharing two cores with the rest of the suite.
    func waitForAcknowledged(atLeast count: Int, timeout: Duration = .seconds(180)) async throws {
        let deadline = ContinuousClock.now + timeout
        while self.acknowledgedCount < count {
            guard ContinuousClock.now < deadline else {
                throw Shortfall(wanted: count, acknowledged: self.acknowledgedCount, failures: self.failures.withLockedValue { $0 })
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Stops the clients and waits for each to finish its request in flight.
    func finish() async {
        self.stop.store(true, ordering: .relaxed)
        await self.task.withLockedValue { $0 }?.value
    }
}
