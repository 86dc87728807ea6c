/// Which backend to open, parsed from `--store` / `LEDGER_STORE`.
public enum StoreLocation: Sendable, Hashable, CustomStringConvertible {
    case sqlite(path: String)

    /// Accepts `sqlite:PATH`, `sqlite://PATH` and a bare path ending in `.sqlite`/`.db`.
    public init(parsing text: String) throws(StoreError) {
        if text.hasPrefix("sqlite://") {
            self = .sqlite(path: String(text.dropFirst("sqlite://".count)))
        } else if text.hasPrefix("sqlite:") {
            self = .sqlite(path: String(text.dropFirst("sqlite:".count)))
        } else if text.hasPrefix("/") || text.hasPrefix("."), !text.contains("://") {
            self = .sqlite(path: text)
        } else if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            throw StoreError(code: .invalidConfiguration, message: "the PostgreSQL store is not part of this build yet; use sqlite:PATH")
        } else {
            throw StoreError(code: .invalidConfiguration, message: "store \"\(text)\" is not understood; expected sqlite:PATH")
        }
        if case .sqlite(let path) = self, path.isEmpty {
            throw StoreError(code: .invalidConfiguration, message: "sqlite: needs a file path, as in sqlite:/var/lib/ledger.sqlite")
        }
    }

    public var description: String {
        switch self {
        case .sqlite(let path): "sqlite:\(path)"
        }
    }

    /// Opens the store and applies its migrations.
    public func open(logger: Logger) async throws(StoreError) -> any EventStore {
        switch self {
        case .sqlite(let path): try await SQLiteStore(path: path, logger: logger)
        }
    }
}

import Logging
