import NIOCore

/// Splits a byte stream into `LedgerFrame`s.
///
/// The length is checked against `maximumFrameLength` as soon as the four
/// prefix bytes arrive, so a hostile peer can never make the daemon buffer more
/// than one maximum-size frame. Every error it throws closes the connection:
/// after a bad length the stream can no longer be split reliably.
public struct LedgerFrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = LedgerFrame

    public let maximumFrameLength: Int

    public init(maximumFrameLength: Int = LedgerFrame.defaultMaximumLength) {
        self.maximumFrameLength = maximumFrameLength
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> LedgerFrame? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
        guard length >= LedgerFrame.headerLength else {
            throw LedgerProtocolError(
                code: .malformedFrame,
                message: "frame length \(length) is shorter than the \(LedgerFrame.headerLength)-byte header",
                closesConnection: true
            )
        }
        guard length <= self.maximumFrameLength else {
            throw LedgerProtocolError(
                code: .frameTooLarge,
                message: "frame length \(length) is over the limit of \(self.maximumFrameLength) bytes",
                closesConnection: true
            )
        }
        // The version byte is checked as soon as it arrives: a peer speaking another
        // version may frame differently, so nothing after it can be trusted.
        if let version = buffer.getInteger(at: buffer.readerIndex + 4, as: UInt8.self),
            version != LedgerFrame.currentVersion
        {
            throw LedgerProtocolError(
                code: .unsupportedVersion,
                message: "protocol version \(version) is not supported; this daemon speaks version \(LedgerFrame.currentVersion)",
                closesConnection: true
            )
        }
        guard buffer.readableBytes >= 4 + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        let version = buffer.readInteger(as: UInt8.self)!
        let type = buffer.readInteger(as: UInt8.self)!
        let requestID = buffer.readInteger(as: UInt32.self)!
        let payload = buffer.readSlice(length: Int(length) - LedgerFrame.headerLength)!
        return LedgerFrame(version: version, type: type, requestID: requestID, payload: payload)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> LedgerFrame? {
        if let frame = try self.decode(buffer: &buffer) { return frame }
        guard buffer.readableBytes == 0 else {
            let pending = buffer.readableBytes
            buffer.moveReaderIndex(forwardBy: pending)
            throw LedgerProtocolError(
                code: .malformedFrame,
                message: "the stream ended inside a frame (\(pending) bytes left over)",
                closesConnection: true
            )
        }
        return nil
    }
}
