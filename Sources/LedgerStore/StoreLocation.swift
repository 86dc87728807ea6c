/// Which backend to open, parsed from `--store` / `LEDGER_STORE`.
public enum StoreLocation: Sendable, Hashable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(PostgresConnectionInfo)
    /// Not durable: the last `capacity` events in memory, for benchmarks and tests.
    case memory(capacity: Int)

    /// Accepts `sqlite:PATH`, `sqlite://PATH`, a bare path, a `postgres://` or
    /// `postgresql://` URI, libpq `key=value` connection strings (`host=/run/postgresql dbname=ledger`),
    /// and `memory` or `memory:CAPACITY`.
    public init(parsing text: String) throws(StoreError) {
        if text == "memory" {
            self = .memory(capacity: MemoryStore.defaultCapacity)
        } else if text.hasPrefix("memory:") {
            let count = String(text.dropFirst("memory:".count))
            guard let capacity = Int(count), capacity > 0 else {
                throw StoreError(
                    code: .invalidConfiguration,
                    message: "memory:\(count): the capacity must be a positive number of events, as in memory:100000")
            }
            self = .memory(capacity: capacity)
        } else if text.hasPrefix("sqlite://") {
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
                message: "store is not understood; expected sqlite:PATH, postgres://..., libpq key=value pairs or memory")
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
        case .memory(let capacity): "memory:\(capacity)"
        }
    }

    /// Opens the store and applies its migrations.
    /// - Parameters:
    ///   - createsDirectory: whether a SQLite file's missing directory is made (only the default location's is).
    ///   - exclusive: whether a SQLite file must have no other writer (see `SQLiteStore.init`).
    public func open(
        limits: StoreReadLimits = StoreReadLimits(), createsDirectory: Bool = true, exclusive: Bool = true, logger: Logger
    ) async throws(StoreError) -> any EventStore {
        switch self {
        case .sqlite(let path):
            try await SQLiteStore(path: path, limits: limits, createsDirectory: createsDirectory, exclusive: exclusive, logger: logger)
        case .postgres(let info): try await PostgresStore(connectionInfo: info, limits: limits, logger: logger)
        case .memory(let capacity): MemoryStore(capacity: capacity)
        }
    }
}

import Logging
