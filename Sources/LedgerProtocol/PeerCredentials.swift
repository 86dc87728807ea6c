import NIOCore

/// Who sent an event, as the kernel reported it for the Unix socket connection (SO_PEERCRED).
///
/// Unlike `worker_id`, which the client claims, these cannot be forged by the
/// client; events from TLS peers (or older rows) have none.
public struct PeerCredentials: Sendable, Hashable {
    public var uid: UInt32
    public var pid: Int32

    public init(uid: UInt32, pid: Int32) {
        self.uid = uid
        self.pid = pid
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(self.uid)
        buffer.writeInteger(self.pid)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> PeerCredentials {
        PeerCredentials(
            uid: try buffer.ledgerReadInteger(as: UInt32.self, field: "peer uid"),
            pid: try buffer.ledgerReadInteger(as: Int32.self, field: "peer pid"))
    }
}
