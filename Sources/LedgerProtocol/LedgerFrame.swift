import NIOCore

/// One length-prefixed unit on the wire, before its payload is interpreted.
///
/// ```
/// +---------------+---------+--------+------------------+-------------------+
/// | length: u32be | version | type   | request id: u32be| payload           |
/// | (bytes after  | u8 = 1  | u8     |                  | (length - 6 bytes)|
/// |  this field)  |         |        |                  |                   |
/// +---------------+---------+--------+------------------+-------------------+
/// ```
///
/// Framing is kept apart from the messages so the decoder can bound memory and
/// reject a bad length before it buffers anything.
public struct LedgerFrame: Sendable, Hashable {
    /// The only version this build speaks.
    public static let currentVersion: UInt8 = 1
    /// Bytes counted by the length prefix before the payload: version, type, request id.
    public static let headerLength = 6
    /// The default ceiling on the length prefix (1 MiB).
    public static let defaultMaximumLength = 1 << 20

    public var version: UInt8
    public var type: UInt8
    public var requestID: UInt32
    public var payload: ByteBuffer

    public init(version: UInt8 = LedgerFrame.currentVersion, type: UInt8, requestID: UInt32, payload: ByteBuffer) {
        self.version = version
        self.type = type
        self.requestID = requestID
        self.payload = payload
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt32(Self.headerLength + self.payload.readableBytes))
        buffer.writeInteger(self.version)
        buffer.writeInteger(self.type)
        buffer.writeInteger(self.requestID)
        buffer.writeImmutableBuffer(self.payload)
    }
}
