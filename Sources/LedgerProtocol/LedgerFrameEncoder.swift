import NIOCore

/// Writes `LedgerFrame`s with their length prefix; the outbound half of `LedgerFrameDecoder`.
public struct LedgerFrameEncoder: MessageToByteEncoder, Sendable {
    public typealias OutboundIn = LedgerFrame

    public init() {}

    public func encode(data: LedgerFrame, out: inout ByteBuffer) throws {
        data.encode(into: &out)
    }
}
