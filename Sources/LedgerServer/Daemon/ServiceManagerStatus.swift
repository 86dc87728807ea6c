import LedgerFiles
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle

/// Keeps a service manager (systemd's `Type=notify`) told: `READY=1` once the listeners serve,
/// a one-line `STATUS=` as the daemon runs, `WATCHDOG=1` while its event loops answer, and
/// `STOPPING=1` as soon as graceful shutdown begins.
///
/// The watchdog pings only when every event loop has run a task within the ping interval, so a
/// daemon wedged on its loops is restarted by the manager; a store that is down is not a reason
/// (it is reported in the status line and in `ledger-rpc health` instead, and a restart would not
/// bring it back).
struct ServiceManagerStatus: Service {
    let notifier: ServiceManagerNotifier
    let stats: ServerStats
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger
    /// The socket path once every listener is bound; nil while starting.
    private let serving = NIOLockedValueBox<String?>(nil)

    init(notifier: ServiceManagerNotifier, stats: ServerStats, eventLoopGroup: any EventLoopGroup, logger: Logger) {
        self.notifier = notifier
        self.stats = stats
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// How often the status line is refreshed: twice per watchdog period, as sd_watchdog_enabled advises.
    var interval: Duration {
        self.notifier.watchdogInterval.map { $0 / 2 } ?? .seconds(10)
    }

    func ready(_ listening: LedgerServer.Listening) {
        self.serving.withLockedValue { $0 = listening.socketPath }
        self.notifier.notify(["READY=1", ServiceManagerNotifier.status(self.summary())])
    }

    func run() async throws {
        await withGracefulShutdownHandler {
            await cancelWhenGracefulShutdown { await self.keepTelling() }
        } onGracefulShutdown: {
            let draining = self.stats.eventsInFlight.load(ordering: .relaxed)
            self.notifier.notify(["STOPPING=1", ServiceManagerNotifier.status("stopping: committing \(draining) events received")])
        }
    }

    private func keepTelling() async {
        var probe = self.probeEventLoops()
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: self.interval)
            } catch {
                return
            }
            var message = [ServiceManagerNotifier.status(self.summary())]
            if self.notifier.watchdogInterval != nil {
                if probe.isAnswered {
                    message.append("WATCHDOG=1")
                } else {
                    self.logger.warning("an event loop did not run a task within \(self.interval); the watchdog is not told the daemon is alive")
                }
            }
            self.notifier.notify(message)
            probe = self.probeEventLoops()
        }
    }

    /// One line an operator reads in `systemctl status`.
    func summary() -> String {
        guard let socket = self.serving.withLockedValue({ $0 }) else { return "starting" }
        let committed = self.stats.eventsCommitted.load(ordering: .relaxed)
        let connections = self.stats.socketConnectionsCurrent.load(ordering: .relaxed) + self.stats.tlsConnectionsCurrent.load(ordering: .relaxed)
        let store = self.stats.storeAvailable.load(ordering: .relaxed) == 1 ? "store available" : "STORE UNAVAILABLE, events wait in the queue"
        return "serving \(socket): \(committed) events committed, \(connections) connections, \(store)"
    }

    /// Asks every event loop to count itself in; the next tick, one interval later, reads the count.
    private func probeEventLoops() -> Probe {
        let probe = Probe(loops: Array(self.eventLoopGroup.makeIterator()).count)
        for loop in self.eventLoopGroup.makeIterator() {
            loop.execute { probe.answered.withLockedValue { $0 += 1 } }
        }
        return probe
    }

    final class Probe: Sendable {
        let loops: Int
        let answered = NIOLockedValueBox(0)
        init(loops: Int) { self.loops = loops }
        var isAnswered: Bool { self.answered.withLockedValue { $0 } == self.loops }
    }
}
