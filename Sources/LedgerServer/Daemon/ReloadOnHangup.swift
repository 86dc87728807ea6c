import ServiceLifecycle
import UnixSignals

/// SIGHUP reads again what can change without a restart: the TLS listener's certificate, key and
/// client CA. Everything else is read once at start. A closed terminal sends SIGHUP too, and this
/// is all it does, so it never stops the ledger.
struct ReloadOnHangup: Service {
    let server: LedgerServer

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in hangups {
                self.server.reloadTLS()
            }
        }
    }
}
