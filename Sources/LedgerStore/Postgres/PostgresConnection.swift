import CLibPQ
import Foundation
import NIOCore

/// A thin owner of one libpq `PGconn`.
///
/// Not thread-safe: each instance is used from one worker thread only, which is how
/// `PostgresStore` keeps libpq's blocking calls off event loops.
final class PostgresConnection {
    private var handle: OpaquePointer?
    let info: PostgresConnectionInfo
    private let settings: [String]
    /// The statements prepared in this session, by their text, each with its name; a new session has none.
    private var prepared: [String: String] = [:]

    /// - Parameter settings: statements run on every new session, such as a reader's `statement_timeout`;
    ///   run again after each reconnect, so they hold for the connection's whole life.
    init(info: PostgresConnectionInfo, settings: [String] = []) throws(StoreError) {
        self.info = info
        self.settings = settings
        try self.connect()
    }

    deinit {
        self.close()
    }

    func close() {
        if let handle = self.handle {
            PQfinish(handle)
            self.handle = nil
        }
        self.prepared = [:]
    }

    /// True when the server went away (or never answered); the next call reconnects.
    var isBroken: Bool {
        guard let handle = self.handle else { return true }
        return PQstatus(handle) != CONNECTION_OK
    }

    /// Replaces a broken connection with a new one; a healthy one is left alone. Called between
    /// statements only.
    ///
    /// Between statements the server has nothing to say on these connections (they never LISTEN).
    /// If the socket is readable then, it spoke on its own, and that is to say it is closing (a
    /// restart, `pg_terminate_backend`) or has closed: a new connection is opened rather than a
    /// statement failed on the old one. It is how a writer that sat idle through a restart learns of
    /// it without failing a batch. During a statement the socket is readable with the server's
    /// answers, so `isBroken` does not look.
    func reconnectIfBroken() throws(StoreError) {
        guard self.isBroken || self.spokeWhileIdle else { return }
        self.close()
        try self.connect()
    }

    private var spokeWhileIdle: Bool {
        guard let handle = self.handle else { return true }
        var socket = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
        return poll(&socket, 1, 0) != 0
    }

    private func connect() throws(StoreError) {
        // Defaults come first so that anything in the connection string overrides them.
        let keywords = ["connect_timeout", "application_name", "dbname"]
        let values = ["10", "ledgerd", self.info.conninfo]
        let handle = withCStringArray(keywords) { keywords in
            withCStringArray(values) { values in PQconnectdbParams(keywords, values, 1) }
        }
        guard let handle, PQstatus(handle) == CONNECTION_OK else {
            let message = handle.map { String(cString: PQerrorMessage($0)).trimmingTrailingNewlines } ?? "out of memory"
            PQfinish(handle)
            throw StoreError(
                code: .unavailable, message: "cannot connect to PostgreSQL at \(self.info): \(Self.oneLine(message))")
        }
        // Server notices ("already exists, skipping") are not errors and must not reach stderr.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        self.handle = handle
        for setting in self.settings {
            _ = try self.execute(setting, as: .unavailable)
        }
    }

    /// Runs one statement with text parameters (`$1`, `$2`, ...); nil is SQL NULL.
    /// Without parameters `sql` may hold several statements.
    @discardableResult
    func execute(_ sql: String, _ parameters: [String?] = [], as code: StoreError.Code) throws(StoreError) -> PostgresResult {
        guard let handle = self.handle else {
            throw StoreError(code: .unavailable, message: "no connection to PostgreSQL at \(self.info)")
        }
        // Without parameters the simple protocol runs a whole script, as migrations need.
        let result =
            parameters.isEmpty
            ? PQexec(handle, sql)
            : withPostgresParameters(parameters.map { .text($0) }) { values, lengths, formats in
                PQexecParams(handle, sql, Int32(parameters.count), nil, values, lengths, formats, 0)
            }
        return try self.finish(result, on: handle, as: code)
    }

    /// Runs one statement as `execute` does, parsed and planned once a session rather than on each
    /// call: for the statements every commit runs.
    @discardableResult
    func executePrepared(_ sql: String, _ parameters: [String?], as code: StoreError.Code) throws(StoreError) -> PostgresResult {
        try self.executePrepared(sql, parameters.map { .text($0) }, as: code)
    }

    /// As `executePrepared` with text parameters, with some given as raw bytes.
    @discardableResult
    func executePrepared(_ sql: String, _ parameters: [PostgresParameter], as code: StoreError.Code) throws(StoreError) -> PostgresResult {
        guard let handle = self.handle else {
            throw StoreError(code: .unavailable, message: "no connection to PostgreSQL at \(self.info)")
        }
        let name: String
        if let known = self.prepared[sql] {
            name = known
        } else {
            name = "ledgerd_\(self.prepared.count + 1)"
            // A session's prepared statements outlive a rolled-back transaction; only a new session loses them.
            _ = try self.finish(PQprepare(handle, name, sql, Int32(parameters.count), nil), on: handle, as: code)
            self.prepared[sql] = name
        }
        let result = withPostgresParameters(parameters) { values, lengths, formats in
            PQexecPrepared(handle, name, Int32(parameters.count), values, lengths, formats, 0)
        }
        return try self.finish(result, on: handle, as: code)
    }

    private func finish(_ result: OpaquePointer?, on handle: OpaquePointer, as code: StoreError.Code) throws(StoreError) -> PostgresResult {
        guard let result else {
            throw self.failure(code, sqlstate: nil, message: String(cString: PQerrorMessage(handle)))
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK:
            return PostgresResult(handle: result)
        default:
            let error = self.failure(code, result: result)
            PQclear(result)
            throw error
        }
    }

    /// Runs `body` in one transaction: committed if it returns, rolled back if it throws.
    func transaction<Result>(as code: StoreError.Code, _ body: () throws(StoreError) -> Result) throws(StoreError) -> Result {
        try self.execute("BEGIN", as: code)
        do {
            let result = try body()
            try self.execute("COMMIT", as: code)
            return result
        } catch {
            _ = try? self.execute("ROLLBACK", as: code)
            throw error
        }
    }

    /// Runs a `COPY ... FROM STDIN` statement with `data` as its input.
    func copy(_ sql: String, data: ByteBuffer, as code: StoreError.Code) throws(StoreError) {
        guard let handle = self.handle else {
            throw StoreError(code: .unavailable, message: "no connection to PostgreSQL at \(self.info)")
        }
        guard let started = PQexec(handle, sql) else {
            throw self.failure(code, sqlstate: nil, message: String(cString: PQerrorMessage(handle)))
        }
        guard PQresultStatus(started) == PGRES_COPY_IN else {
            let error = self.failure(code, result: started)
            PQclear(started)
            throw error
        }
        PQclear(started)
        var sent = true
        data.withUnsafeReadableBytes { bytes in
            var offset = 0
            while sent, offset < bytes.count {
                let chunk = min(Self.copyChunkBytes, bytes.count - offset)
                sent = PQputCopyData(handle, bytes.baseAddress!.advanced(by: offset).assumingMemoryBound(to: CChar.self), Int32(chunk)) == 1
                offset += chunk
            }
        }
        // Ending the copy with an error message makes the server abandon it rather than store part of it.
        let ended = PQputCopyEnd(handle, sent ? nil : "ledgerd could not send every row") == 1
        var error: StoreError?
        while let result = PQgetResult(handle) {
            if error == nil, PQresultStatus(result) != PGRES_COMMAND_OK {
                error = self.failure(code, result: result)
            }
            PQclear(result)
        }
        if let error { throw error }
        guard sent, ended else {
            throw self.failure(code, sqlstate: nil, message: String(cString: PQerrorMessage(handle)))
        }
    }

    /// Bytes handed to libpq per call while copying.
    static let copyChunkBytes = 64 * 1024

    private func failure(_ code: StoreError.Code, result: OpaquePointer) -> StoreError {
        let sqlstate = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
        return self.failure(code, sqlstate: sqlstate, message: String(cString: PQresultErrorMessage(result)))
    }

    /// A lost connection, a server shutting down or out of resources is worth retrying; a rejected statement is not.
    private func failure(_ code: StoreError.Code, sqlstate: String?, message: String) -> StoreError {
        let transient =
            self.isBroken || sqlstate.map { state in
                state.hasPrefix("08") || state.hasPrefix("53") || state.hasPrefix("57P") || state == "40001" || state == "40P01"
            } ?? true
        return StoreError(
            code: transient ? .unavailable : code, message: "PostgreSQL at \(self.info): \(Self.oneLine(message))",
            backendCode: sqlstate)
    }

    private static func oneLine(_ message: String) -> String {
        message.trimmingTrailingNewlines.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: "; ")
    }
}

/// One `PGresult`, freed when the value goes away.
final class PostgresResult {
    private let handle: OpaquePointer

    init(handle: OpaquePointer) {
        self.handle = handle
    }

    deinit {
        PQclear(self.handle)
    }

    var rowCount: Int { Int(PQntuples(self.handle)) }

    var columnCount: Int { Int(PQnfields(self.handle)) }

    /// Rows the command inserted, updated or deleted.
    var affectedRows: Int { Int(String(cString: PQcmdTuples(self.handle))) ?? 0 }

    func text(_ row: Int, _ column: Int) -> String? {
        if PQgetisnull(self.handle, Int32(row), Int32(column)) == 1 { return nil }
        return String(cString: PQgetvalue(self.handle, Int32(row), Int32(column)))
    }
}

/// Lends libpq a NULL-terminated C array of C strings for the duration of `body`.
private func withCStringArray<Result>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> Result) -> Result {
    let copies: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    let pointers = copies.map { UnsafePointer($0) } + [nil]
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
