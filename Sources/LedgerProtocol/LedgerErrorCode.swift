/// The error codes carried on the wire in an error frame.
///
/// A struct of static constants rather than an enum, so that a newer daemon can
/// send a code this build does not know without breaking its decoder.
public struct LedgerErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16

    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// The frame could not be parsed: bad length, truncated or trailing payload bytes. The connection is closed.
    public static let malformedFrame = LedgerErrorCode(rawValue: 1)
    /// The frame's length prefix is over the daemon's maximum. The connection is closed.
    public static let frameTooLarge = LedgerErrorCode(rawValue: 2)
    /// The frame's version byte is not one the daemon speaks. The connection is closed.
    public static let unsupportedVersion = LedgerErrorCode(rawValue: 3)
    /// The message type is unknown; the connection stays open.
    public static let unknownMessageType = LedgerErrorCode(rawValue: 4)
    /// An event failed validation; nothing of that request was stored.
    public static let invalidEvent = LedgerErrorCode(rawValue: 5)
    /// A query's filter, limit or cursor is invalid.
    public static let invalidQuery = LedgerErrorCode(rawValue: 6)
    /// The store could not commit or answer; the request may be retried.
    public static let storeUnavailable = LedgerErrorCode(rawValue: 7)
    /// The daemon is shutting down and accepts no more work.
    public static let shuttingDown = LedgerErrorCode(rawValue: 8)
    /// The peer may not make this request.
    public static let permissionDenied = LedgerErrorCode(rawValue: 9)
    /// An unexpected failure inside the daemon.
    public static let internalError = LedgerErrorCode(rawValue: 10)
    /// The daemon already serves its maximum number of connections. The connection is closed.
    public static let tooManyConnections = LedgerErrorCode(rawValue: 11)
    /// Nothing arrived for the idle timeout. The connection is closed; a client reconnects when it next needs to.
    public static let idleTimeout = LedgerErrorCode(rawValue: 12)
    /// A frame started but did not finish within the frame deadline (a stalled or slow-loris peer). The connection is closed.
    public static let frameTimeout = LedgerErrorCode(rawValue: 13)
    /// A query ran past the daemon's time budget for one query and was stopped; the connection stays open.
    public static let queryTimeout = LedgerErrorCode(rawValue: 14)

    public var name: String {
        switch self {
        case .malformedFrame: "MALFORMED_FRAME"
        case .frameTooLarge: "FRAME_TOO_LARGE"
        case .unsupportedVersion: "UNSUPPORTED_VERSION"
        case .unknownMessageType: "UNKNOWN_MESSAGE_TYPE"
        case .invalidEvent: "INVALID_EVENT"
        case .invalidQuery: "INVALID_QUERY"
        case .storeUnavailable: "STORE_UNAVAILABLE"
        case .shuttingDown: "SHUTTING_DOWN"
        case .permissionDenied: "PERMISSION_DENIED"
        case .internalError: "INTERNAL_ERROR"
        case .tooManyConnections: "TOO_MANY_CONNECTIONS"
        case .idleTimeout: "IDLE_TIMEOUT"
        case .frameTimeout: "FRAME_TIMEOUT"
        case .queryTimeout: "QUERY_TIMEOUT"
        default: "ERROR_\(self.rawValue)"
        }
    }

    public var description: String { self.name }
}
