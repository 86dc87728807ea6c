import Logging
import NIOConcurrencyHelpers
import NIOSSL

/// The TLS context new handshakes use, replaceable while the listener runs: SIGHUP reads the
/// certificate, key and client CA again, and a connection already made keeps the context it
/// shook hands with until it closes.
final class TLSContextSource: Sendable {
    let configuration: TLSListenerConfiguration
    private let context: NIOLockedValueBox<NIOSSLContext>

    init(configuration: TLSListenerConfiguration) throws(TLSListenerConfiguration.Error) {
        self.configuration = configuration
        self.context = NIOLockedValueBox(try configuration.makeServerContext())
    }

    var current: NIOSSLContext { self.context.withLockedValue { $0 } }

    /// Reads the files again; a file that is missing or bad keeps the context in use and says why.
    func reload(logger: Logger) {
        do throws(TLSListenerConfiguration.Error) {
            let fresh = try self.configuration.makeServerContext()
            self.context.withLockedValue { $0 = fresh }
            logger.notice(
                "reloaded the TLS certificate, key and client CA; new handshakes use them",
                metadata: ["cert": "\(self.configuration.certificatePath)"])
        } catch {
            logger.error("kept the TLS files in use: \(error.description)")
        }
    }
}
