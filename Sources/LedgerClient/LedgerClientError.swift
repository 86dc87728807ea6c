import LedgerProtocol

/// Why an acknowledged log call or a query failed. Fire-and-forget calls never throw.
public struct LedgerClientError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String

        /// The daemon's socket could not be reached.
        public static let unreachable = Code(name: "unreachable")
        /// The connection closed before the answer arrived.
        public static let connectionClosed = Code(name: "connection closed")
        /// No answer within the request timeout.
        public static let timeout = Code(name: "timeout")
        /// The daemon answered with an error frame; see `serverError`.
        public static let rejected = Code(name: "rejected")
        /// The daemon sent something this client cannot read.
        public static let protocolViolation = Code(name: "protocol violation")
        /// The client was shut down.
        public static let shutdown = Code(name: "shut down")
        /// The client's certificate, key or CA file could not be used.
        public static let tlsConfiguration = Code(name: "TLS configuration")
        /// The TLS handshake failed: the daemon's certificate was not trusted, or ours was refused.
        public static let tlsHandshake = Code(name: "TLS handshake")
        /// The default socket's directory could belong to someone else, so it is not connected to.
        public static let untrustedSocket = Code(name: "untrusted socket")

        public var description: String { self.name }
    }

    public var code: Code
    public var message: String
    /// The daemon's error, when `code` is `.rejected`.
    public var serverError: ErrorResponse?

    public init(code: Code, message: String, serverError: ErrorResponse? = nil) {
        self.code = code
        self.message = message
        self.serverError = serverError
    }

    public var description: String { self.message }
}
