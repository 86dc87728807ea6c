/// An error found while decoding or validating what a peer sent.
///
/// It carries the wire code, whether the connection must be closed (the byte
/// stream can no longer be trusted), and a message that names the offending
/// field, so the daemon can send it back verbatim.
public struct LedgerProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: LedgerErrorCode
    public var message: String
    /// True when the stream is out of step and the connection has to be closed.
    public var closesConnection: Bool

    public init(code: LedgerErrorCode, message: String, closesConnection: Bool = false) {
        self.code = code
        self.message = message
        self.closesConnection = closesConnection
    }

    public var description: String { "\(self.code.name): \(self.message)" }

    static func malformed(_ message: String) -> Self {
        Self(code: .malformedFrame, message: message, closesConnection: true)
    }

    static func invalidEvent(_ message: String) -> Self {
        Self(code: .invalidEvent, message: message)
    }

    static func invalidQuery(_ message: String) -> Self {
        Self(code: .invalidQuery, message: message)
    }
}
