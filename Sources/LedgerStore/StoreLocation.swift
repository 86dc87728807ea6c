/// Which backend to open, parsed from `--store` / `LEDGER_STORE`.
public enum StoreLocation: Sendable, Hashable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(PostgresConnectionInfo)

    /// Accepts `sqlite:PATH`, `sqlite://PATH`, a bare path, a `postgres://` or
    /// `postgresql://` URI, and libpq `key=value` connection strings (`host=/run/postgresql dbname=ledger`).
    public init(parsing text: String) throws(StoreError) {
        if text.hasPrefix("sqlite://") {
            self = .sqlite(path: String(text.dropFirst("sqlite://".count)))
        } else if text.hasPrefix("sqlite:") {
            self = .sqlite(path: String(text.dropFirst("sqlite:".count)))
        } else if text.hasPrefix("/") || text.hasPrefix("."), !text.contains("://") {
            self = .sqlite(path: text)
        } else if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") || Self.looksLikeConninfo(text) {
            self = .postgres(try PostgresConnectionInfo(text))
        } else {
            // Not echoed: an unrecognised string may still hold a password.
            throw StoreError(
                code: .invalidConfiguration,
                message: "store is not understood; expected sqlite:PATH, postgres://... or libpq key=value pairs")
        }
        if case .sqlite(let path) = self, path.isEmpty {
            throw StoreError(code: .invalidConfiguration, message: "sqlite: needs a file path, as in sqlite:/var/lib/ledger.sqlite")
        }
    }

    /// libpq's `key=value` form: the first word is a keyword followed by `=`.
    private static func looksLikeConninfo(_ text: String) -> Bool {
        let firstWord = text.prefix { $0 != " " && $0 != "=" }
        return !firstWord.isEmpty && text.dropFirst(firstWord.count).first == "=" && firstWord.allSatisfy { $0.isLetter || $0 == "_" }
    }

    public var description: String {
        switch self {
        case .sqlite(let path): "sqlite:\(path)"
        case .postgres(let info): info.description
        }
    }

    /// Opens the store and applies its migrations.
    public func open(logger: Logger) async throws(StoreError) -> any EventStore {
        switch self {
        case .sqlite(let path): try await SQLiteStore(path: path, logger: logger)
        case .postgres(let info): try await PostgresStore(connectionInfo: info, logger: logger)
        }
    }
}

import Logging
