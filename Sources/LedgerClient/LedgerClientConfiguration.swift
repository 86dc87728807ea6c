import Foundation
import LedgerFiles
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
    /// Connect only when the socket's directory belongs to this user (or root) and nobody else may
    /// write in it. On for the default path, which lies in /tmp when XDG_RUNTIME_DIR is unset: there
    /// another user could have made the directory first and answer in the daemon's place.
    public var verifiesSocketDirectory = false

    /// Where this client connects, for error messages.
    var endpointDescription: String {
        self.tls?.description ?? self.socketPath
    }

    public init(socketPath: String) {
        self.socketPath = socketPath
    }

    /// The daemon's default socket, as ledgerd computes it (`LEDGER_SOCKET`, then the per-user default).
    /// When the per-user socket is absent and a system ledgerd's exists, that one.
    public static func `default`(environment: [String: String] = ProcessInfo.processInfo.environment) -> LedgerClientConfiguration {
        let candidates = LedgerDefaults.clientSocketCandidates(environment: environment, userID: UInt32(getuid()))
        let found = candidates.first { access($0, F_OK) == 0 } ?? candidates[0]
        var configuration = LedgerClientConfiguration(socketPath: found)
        configuration.verifiesSocketDirectory = environment["LEDGER_SOCKET"]?.isEmpty ?? true
        return configuration
    }

    /// Why the socket may not be trusted, when `verifiesSocketDirectory` asks for the check.
    var untrustedSocket: LedgerClientError? {
        guard self.tls == nil, self.verifiesSocketDirectory else { return nil }
        let directory = (self.socketPath as NSString).deletingLastPathComponent
        guard let problem = PrivateDirectory.problem(with: directory.isEmpty ? "." : directory, purpose: "socket directory") else { return nil }
        // A directory that is not there yet only means the daemon is not running.
        var info = stat()
        if lstat(directory, &info) != 0, errno == ENOENT { return nil }
        return LedgerClientError(code: .untrustedSocket, message: "not connecting to ledgerd at \(self.socketPath): \(problem)")
    }
}
