import LedgerProtocol
import NIOConcurrencyHelpers
import NIOCore

/// The connections a listener has accepted and its accept loop has not yet taken.
///
/// An accepted connection that the loop never takes out of the listener (the loop ended
/// at shutdown, or was cancelled, just as it arrived) would crash the process when NIO lets
/// go of it, because its writer was never finished (swift-nio#2813). Each one is therefore
/// held here from the moment it is wrapped until the loop takes it; whatever is left when
/// the loop ends is closed, and the listener wraps nothing more after that.
final class AcceptedConnections: Sendable {
    typealias Connection = NIOAsyncChannel<LedgerFrame, LedgerFrame>

    /// Why a connection accepted after the accept loop ended is closed at once.
    struct Closed: Error, CustomStringConvertible {
        var description: String { "ledgerd is shutting down and takes no new connections" }
    }

    private struct State {
        var waiting: [ObjectIdentifier: Connection] = [:]
        var closed = false
    }

    private let state = NIOLockedValueBox(State())

    /// Wraps a connection the listener accepted, on its event loop; throws once `close()` was
    /// called, which makes NIO close the channel before anything could be read from it.
    func wrap(_ channel: any Channel) throws -> Connection {
        try self.state.withLockedValue { state in
            guard !state.closed else { throw Closed() }
            let connection = try Connection(wrappingChannelSynchronously: channel)
            state.waiting[ObjectIdentifier(channel)] = connection
            return connection
        }
    }

    /// The accept loop took the connection and serves it from now on.
    func taken(_ connection: Connection) {
        _ = self.state.withLockedValue { $0.waiting.removeValue(forKey: ObjectIdentifier(connection.channel)) }
    }

    /// Stops wrapping, and returns the connections never taken, for the caller to close outside the lock.
    private func close() -> [Connection] {
        self.state.withLockedValue { state in
            state.closed = true
            defer { state.waiting.removeAll() }
            return Array(state.waiting.values)
        }
    }

    /// Closes what was never taken, finishing each one's writer first.
    func closeWaiting() async {
        for connection in self.close() {
            try? await connection.executeThenClose { _, _ in }
        }
    }
}
