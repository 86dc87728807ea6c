import Foundation
import LedgerProtocol
import NIOCore
import NIOPosix

/// How a client finds the daemon and how much it may cost its host process.
public struct LedgerClientConfiguration: Sendable {
    /// The daemon's Unix socket.
    public var socketPath: String
    /// Encoded events held while connecting or while the socket is full; past this, events are dropped.
    public var bufferLimitBytes: Int = 4 << 20
    /// How long a connection attempt may take.
    public var connectTimeout: TimeAmount = .seconds(1)
    /// How long an acknowledged log call or a query waits for its answer.
    public var requestTimeout: TimeAmount = .seconds(10)
    /// The first pause after a failed connection; it doubles on each failure up to `maximumBackoff`.
    public var initialBackoff: TimeAmount = .milliseconds(100)
    public var maximumBackoff: TimeAmount = .seconds(5)
    /// Largest response frame accepted (a page of query results).
    public var maximumResponseLength: Int = 128 << 20
    public var eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    /// Connect to a remote daemon over TLS instead of the Unix socket.
    public var tls: LedgerTLSEndpoint?
    /// The name this client's gap reports carry, so an operator can tell which service lost events.
    /// At most 255 bytes are sent.
    public var clientName: String = ProcessInfo.processInfo.processName
    /// How soon drops that happen while connected (a full buffer, a refused event) are reported.
    public var gapReportDelay: TimeAmount = .seconds(1)

    /// Where this client connects, for error messages.
    var endpointDescription: String {
        self.tls?.description ?? self.socketPath
    }

    public init(socketPath: String) {
        self.socketPath = socketPath
    }

    /// The daemon's default socket, as ledgerd computes it (`LEDGER_SOCKET`, then the per-user default).
    public static func `default`(environment: [String: String] = ProcessInfo.processInfo.environment) -> LedgerClientConfiguration {
        LedgerClientConfiguration(socketPath: LedgerDefaults.socketPath(environment: environment, userID: UInt32(getuid())))
    }
}
