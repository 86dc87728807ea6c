import NIOCore

/// `error` (0xFF): why a request failed, and whether the daemon is about to close the connection.
public struct ErrorResponse: Sendable, Hashable, Error, CustomStringConvertible {
    public var code: LedgerErrorCode
    public var closesConnection: Bool
    public var message: String

    public init(code: LedgerErrorCode, closesConnection: Bool = false, message: String) {
        self.code = code
        self.closesConnection = closesConnection
        self.message = message
    }

    public init(_ error: LedgerProtocolError) {
        self.init(code: error.code, closesConnection: error.closesConnection, message: error.message)
    }

    public var description: String { "\(self.code.name): \(self.message)" }

    /// Whether a frame is an error that ends its connection, read from the flags alone: whatever
    /// writes frames can keep the promise that such an error is the last one without decoding it.
    public static func closesConnection(_ frame: LedgerFrame) -> Bool {
        guard frame.type == LedgerResponse.ID.error.rawValue else { return false }
        let flags = frame.payload.getInteger(at: frame.payload.readerIndex + MemoryLayout<UInt16>.size, as: UInt8.self)
        return flags.map { $0 & 1 == 1 } ?? false
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(self.code.rawValue)
        buffer.writeInteger(UInt8(self.closesConnection ? 1 : 0))
        buffer.ledgerWriteString16(self.message)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> ErrorResponse {
        let code = try buffer.ledgerReadInteger(as: UInt16.self, field: "error code")
        let flags = try buffer.ledgerReadInteger(as: UInt8.self, field: "error flags")
        let message = try buffer.ledgerReadString16(field: "error message")
        try buffer.ledgerExpectEnd(of: "error")
        return ErrorResponse(code: LedgerErrorCode(rawValue: code), closesConnection: flags & 1 == 1, message: message)
    }
}
