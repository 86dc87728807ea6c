import NIOCore

/// `pong` (0x81): the answer to ping, naming the protocol version and the daemon build.
public struct Pong: Sendable, Hashable {
    public var protocolVersion: UInt8
    public var server: String

    public init(protocolVersion: UInt8 = LedgerFrame.currentVersion, server: String) {
        self.protocolVersion = protocolVersion
        self.server = server
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(self.protocolVersion)
        buffer.ledgerWriteString16(self.server)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> Pong {
        let version = try buffer.ledgerReadInteger(as: UInt8.self, field: "protocol version")
        let server = try buffer.ledgerReadString16(field: "server")
        try buffer.ledgerExpectEnd(of: "pong")
        return Pong(protocolVersion: version, server: server)
    }
}
