import CSQLite
import Foundation
import LedgerProtocol

/// A thin owner of one `sqlite3*` handle.
///
/// Not thread-safe: each instance is used from one `NIOThreadPool` thread only,
/// which is how `SQLiteStore` keeps SQLite's blocking calls off event loops.
final class SQLiteConnection {
    private var handle: OpaquePointer?
    let path: String

    /// Process-wide settings that SQLite accepts only before its first use.
    private static let configured: Void = {
        _ = ledger_sqlite3_disable_memory_statistics()
    }()

    /// - Parameters:
    ///   - vfs: the name of a registered VFS to open the files through; nil for SQLite's default.
    ///   - creating: whether a missing file is created; a tool that only reads a store never makes one.
    init(path: String, vfs: String? = nil, creating: Bool = true) throws(StoreError) {
        Self.configured
        self.path = path
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | (creating ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &handle, flags, vfs)
        guard status == SQLITE_OK, let handle else {
            var message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            // SQLite's own words ("unable to open database file") do not say why; the system's do.
            if status & 0xff == SQLITE_CANTOPEN, let reason = Self.whyNotWritable(path) {
                message += " (\(reason))"
            }
            sqlite3_close(handle)
            throw StoreError(code: .unavailable, message: "cannot open SQLite database \(path): \(message)", backendCode: "SQLITE_\(status)")
        }
        self.handle = handle
        sqlite3_extended_result_codes(handle, 1)
        // A writer holding the lock briefly (a checkpoint, another process) should delay us, not fail us.
        sqlite3_busy_timeout(handle, 5_000)
    }

    deinit {
        self.close()
    }

    /// Provides `ledger_segments`, which names the segments a lookup seeks (`SQLiteSegments`), from
    /// these filters, for the life of the connection.
    func provideSegments(_ filters: SQLiteSegmentFilters) throws(StoreError) {
        guard let handle = self.handle else { throw StoreError(code: .closed, message: "SQLite connection is closed") }
        let status = sqlite3_create_function_v2(
            handle, "ledger_segments", 3, SQLITE_UTF8, Unmanaged.passRetained(filters).toOpaque(), SQLiteSegments.function, nil, nil,
            { data in data.map { Unmanaged<SQLiteSegmentFilters>.fromOpaque($0).release() } })
        guard status == SQLITE_OK else { throw self.error(.unavailable, "ledger_segments", status: status) }
    }

    /// Interrupts each query that runs past the budget's timeout.
    func limitQueries(by budget: SQLiteQueryBudget) {
        if let handle = self.handle { budget.install(on: handle) }
    }

    /// Why the file, or the directory it would be created in, cannot be written; nil when it can.
    static func whyNotWritable(_ path: String) -> String? {
        if access(path, F_OK) == 0 {
            return access(path, R_OK | W_OK) == 0 ? nil : "\(path): \(String(cString: strerror(errno)))"
        }
        let directory = (path as NSString).deletingLastPathComponent
        return access(directory.isEmpty ? "." : directory, W_OK | X_OK) == 0
            ? nil : "cannot create it in \(directory): \(String(cString: strerror(errno)))"
    }

    /// False while a commit's writes are still held by `SQLiteLogWriteVFS`; always true for a
    /// connection opened through SQLite's own VFS.
    var logIsWritten: Bool {
        self.handle.map(SQLiteLogWriteVFS.logIsWritten) ?? true
    }

    func close() {
        if let handle = self.handle {
            sqlite3_close_v2(handle)
            self.handle = nil
        }
    }

    func error(_ code: StoreError.Code, _ context: String, status: Int32) -> StoreError {
        var message = self.handle.map { String(cString: sqlite3_errmsg($0)) } ?? "connection closed"
        if let handle = self.handle, sqlite3_system_errno(handle) != 0, status & 0xff == SQLITE_IOERR || status & 0xff == SQLITE_CANTOPEN {
            message += " (\(String(cString: strerror(sqlite3_system_errno(handle)))))"
        }
        var code = code
        // A full disk, an I/O error, a file made read-only or a lock held too long is the machine's
        // state, not the batch's fault: the batch is held and retried until the condition passes.
        switch status & 0xff {
        case SQLITE_FULL, SQLITE_IOERR, SQLITE_READONLY, SQLITE_CANTOPEN, SQLITE_BUSY, SQLITE_LOCKED, SQLITE_NOMEM, SQLITE_PROTOCOL:
            code = .unavailable
            if status & 0xff == SQLITE_FULL {
                message += " (the file system of \(self.path) is full; events are held until space is freed)"
            }
        default:
            break
        }
        return StoreError(code: code, message: "\(context): \(message)", backendCode: "SQLITE_\(status)")
    }

    /// Runs one or more statements that return no rows.
    func execute(_ sql: String, as code: StoreError.Code = .writeFailed) throws(StoreError) {
        guard let handle = self.handle else { throw StoreError(code: .closed, message: "SQLite connection is closed") }
        let status = sqlite3_exec(handle, sql, nil, nil, nil)
        guard status == SQLITE_OK else { throw self.error(code, "\(sql.prefix(60))", status: status) }
    }

    func prepare(_ sql: String, as code: StoreError.Code = .queryFailed) throws(StoreError) -> SQLiteStatement {
        guard let handle = self.handle else { throw StoreError(code: .closed, message: "SQLite connection is closed") }
        var statement: OpaquePointer?
        let status = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard status == SQLITE_OK, let statement else { throw self.error(code, "prepare", status: status) }
        return SQLiteStatement(handle: statement, connection: self)
    }

    /// Frames in the write-ahead log after this connection's last commit, as SQLite's WAL hook reports them.
    private(set) var walFrames = 0

    /// Counts the log's frames after each commit, in place of SQLite's automatic checkpoint, which
    /// would copy the whole log back inside the commit that crossed its threshold.
    func watchWAL() {
        guard let handle = self.handle else { return }
        sqlite3_wal_hook(
            handle,
            { context, _, _, frames in
                Unmanaged<SQLiteConnection>.fromOpaque(context!).takeUnretainedValue().walFrames = Int(frames)
                return SQLITE_OK
            },
            Unmanaged.passUnretained(self).toOpaque())
    }

    /// Copies into the database every log frame no reader still needs, without waiting for the
    /// writer or the readers (a passive checkpoint).
    ///
    /// - Returns: the frames in the log and how many of them are now copied.
    func checkpoint() throws(StoreError) -> (logFrames: Int, copiedFrames: Int) {
        guard let handle = self.handle else { throw StoreError(code: .closed, message: "SQLite connection is closed") }
        var logFrames: Int32 = 0
        var copiedFrames: Int32 = 0
        let status = sqlite3_wal_checkpoint_v2(handle, nil, SQLITE_CHECKPOINT_PASSIVE, &logFrames, &copiedFrames)
        guard status == SQLITE_OK else { throw self.error(.writeFailed, "checkpoint", status: status) }
        return (Int(logFrames), Int(copiedFrames))
    }

    var changes: Int {
        self.handle.map { Int(sqlite3_changes($0)) } ?? 0
    }
}

/// A prepared statement, reset and reused for every row of a batch.
final class SQLiteStatement {
    private let handle: OpaquePointer
    private unowned let connection: SQLiteConnection

    init(handle: OpaquePointer, connection: SQLiteConnection) {
        self.handle = handle
        self.connection = connection
    }

    deinit {
        sqlite3_finalize(self.handle)
    }

    enum Value {
        case text(String)
        case integer(Int64)
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    func bind(_ values: [Value]) {
        sqlite3_reset(self.handle)
        sqlite3_clear_bindings(self.handle)
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            switch value {
            case .text(let text): self.bind(index, text: text)
            case .integer(let integer): self.bind(index, integer: integer)
            }
        }
    }

    /// Binds one parameter of the next row; every parameter is bound for every row, so none
    /// needs clearing in between.
    func bind(_ index: Int32, text: String) {
        sqlite3_bind_text(self.handle, index, text, Int32(text.utf8.count), Self.transient)
    }

    func bind(_ index: Int32, text: String?) {
        guard let text else { return self.bindNull(index) }
        self.bind(index, text: text)
    }

    /// Binds the id's canonical lowercase text, formatted on the stack.
    func bind(_ index: Int32, uuid: UUID?) {
        guard let uuid else { return self.bindNull(index) }
        uuid.withLowercaseText { bytes in
            _ = sqlite3_bind_text(self.handle, index, bytes.baseAddress!.assumingMemoryBound(to: CChar.self), 36, Self.transient)
        }
    }

    func bind(_ index: Int32, integer: Int64?) {
        guard let integer else { return self.bindNull(index) }
        sqlite3_bind_int64(self.handle, index, integer)
    }

    func bind(_ index: Int32, blob: [UInt8]) {
        blob.withUnsafeBytes { bytes in
            _ = sqlite3_bind_blob(self.handle, index, bytes.baseAddress, Int32(bytes.count), Self.transient)
        }
    }

    func bindNull(_ index: Int32) {
        sqlite3_bind_null(self.handle, index)
    }

    /// Steps once; returns true while a row is available.
    func step(as code: StoreError.Code) throws(StoreError) -> Bool {
        let status = sqlite3_step(self.handle)
        switch status {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            sqlite3_reset(self.handle)
            throw self.connection.error(code, "step", status: status)
        }
    }

    func text(_ column: Int32) -> String? {
        guard let pointer = sqlite3_column_text(self.handle, column) else { return nil }
        return String(cString: pointer)
    }

    func blob(_ column: Int32) -> [UInt8] {
        guard let pointer = sqlite3_column_blob(self.handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: Int(sqlite3_column_bytes(self.handle, column))))
    }

    func integer(_ column: Int32) -> Int64 {
        sqlite3_column_int64(self.handle, column)
    }

    func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(self.handle, column) == SQLITE_NULL
    }

    var columnCount: Int {
        Int(sqlite3_column_count(self.handle))
    }

    func reset() {
        sqlite3_reset(self.handle)
    }
}
