/// A failure of the store, with what the operator needs to act on it.
///
/// `description` names the store and the operation but never credentials.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String

        /// The database could not be opened or reached.
        public static let unavailable = Code(name: "unavailable")
        /// The store's location or URI is not one this build understands.
        public static let invalidConfiguration = Code(name: "invalid configuration")
        /// A migration could not be found, read or applied.
        public static let migrationFailed = Code(name: "migration failed")
        /// A write transaction failed and was rolled back; nothing in it is stored.
        public static let writeFailed = Code(name: "write failed")
        /// A read failed.
        public static let queryFailed = Code(name: "query failed")
        /// The store was closed.
        public static let closed = Code(name: "closed")
        /// A query ran past its time budget and was stopped.
        public static let timedOut = Code(name: "timed out")
        /// The task that asked was cancelled (its connection ended) before the store ran it.
        public static let cancelled = Code(name: "cancelled")

        public var description: String { self.name }
    }

    public var code: Code
    public var message: String
    /// The backend's own error code (SQLite result code, PostgreSQL SQLSTATE), when there is one.
    public var backendCode: String?

    public init(code: Code, message: String, backendCode: String? = nil) {
        self.code = code
        self.message = message
        self.backendCode = backendCode
    }

    public var description: String {
        if let backendCode = self.backendCode {
            return "\(self.code): \(self.message) (\(backendCode))"
        }
        return "\(self.code): \(self.message)"
    }

    /// Whether the store refused the data itself, rather than failing to write: a constraint or a value
    /// it cannot hold (SQLite's CONSTRAINT, TOOBIG and MISMATCH; PostgreSQL's classes 22 and 23). The
    /// same events would be refused again, while the rest of their batch would be stored.
    public var refusesTheData: Bool {
        guard let backendCode = self.backendCode else { return false }
        if backendCode.hasPrefix("SQLITE_"), let status = Int32(backendCode.dropFirst("SQLITE_".count)) {
            return [18, 19, 20].contains(status & 0xff)
        }
        return backendCode.count == 5 && (backendCode.hasPrefix("22") || backendCode.hasPrefix("23"))
    }
}
