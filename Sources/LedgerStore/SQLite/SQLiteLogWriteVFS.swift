import CSQLite
import Foundation

/// SQLite's own VFS, with the writer's appends to the `-wal` file gathered into large writes.
///
/// SQLite writes each frame of a commit as two system calls, a 24-byte header and then the page;
/// at several hundred frames a commit, those calls took nearly a third of the writer thread's time.
/// Through this VFS a commit's frames collect in a buffer and reach the file in writes of up to
/// `capacity` bytes. The last of them is made before the write of the commit frame's page returns:
/// SQLite publishes a commit to other connections only after that, and the log flusher syncs
/// only commits that have returned, so neither can see a frame still in the buffer. Anything else
/// SQLite does with the file (a read, a sync, a size, a truncation, a write elsewhere) first
/// writes out what is buffered. Only the writer connection opens its files through this VFS;
/// every other file it opens is SQLite's own, unwrapped.
enum SQLiteLogWriteVFS {
    static let name = "ledger-log-writes"
    /// The most SQLite's unix VFS writes in one call: it keeps only the low 17 bits of a write's
    /// length. About 31 frames of 4 KiB pages.
    static let capacity: Int32 = 0x1_ffff

    /// Registers the VFS with SQLite, once per process; SQLite's status code if it could not be.
    static func register() throws(StoreError) -> String {
        guard registration == SQLITE_OK else {
            throw StoreError(code: .unavailable, message: "cannot register SQLite VFS \(name): status \(registration)")
        }
        return name
    }

    private static let registration: Int32 = {
        guard base.pointee.xOpen != nil else { return SQLITE_ERROR }
        let vfs = UnsafeMutablePointer<sqlite3_vfs>.allocate(capacity: 1)
        vfs.initialize(to: base.pointee)
        vfs.pointee.pNext = nil
        vfs.pointee.zName = UnsafePointer(strdup(name))
        vfs.pointee.szOsFile = Int32(realFileOffset) + base.pointee.szOsFile
        vfs.pointee.xOpen = open
        return sqlite3_vfs_register(vfs, 0)
    }()

    /// True when nothing written to the connection's log is still held here: checked after every
    /// commit, so that a commit SQLite finished in a way this VFS did not foresee fails loudly.
    static func logIsWritten(_ handle: OpaquePointer) -> Bool {
        var file: UnsafeMutablePointer<sqlite3_file>?
        guard sqlite3_file_control(handle, "main", SQLITE_FCNTL_JOURNAL_POINTER, &file) == SQLITE_OK, let file,
            file.pointee.pMethods == UnsafePointer(methods)
        else { return true }
        let log = UnsafeMutableRawPointer(file).assumingMemoryBound(to: LogFile.self)
        return log.pointee.length == 0 && !log.pointee.commitPageNext
    }

    /// What SQLite allocates for a log opened through this VFS: the state below, then SQLite's own
    /// file at `realFileOffset`. SQLite reads the methods from the first field.
    private struct LogFile {
        var file: sqlite3_file
        var buffer: UnsafeMutableRawPointer
        /// Where in the file the buffer's first byte goes.
        var start: sqlite3_int64
        var length: Int32
        /// The last write was a commit frame's header, so the next is the commit's last page.
        var commitPageNext: Bool
        /// After a commit, SQLite may rewrite frame headers before it publishes the commit (when the
        /// transaction rewrote a page it had spilled); writes below this offset go straight to the file.
        var writeThroughBelow: sqlite3_int64
    }

    private static let realFileOffset = (MemoryLayout<LogFile>.stride + 15) & ~15
    /// SQLite's default VFS, which opens every file; set once and never changed.
    private nonisolated(unsafe) static let base: UnsafeMutablePointer<sqlite3_vfs> = sqlite3_vfs_find(nil)!

    private static func parts(
        _ file: UnsafeMutablePointer<sqlite3_file>
    ) -> (UnsafeMutablePointer<LogFile>, UnsafeMutablePointer<sqlite3_file>) {
        let raw = UnsafeMutableRawPointer(file)
        return (raw.assumingMemoryBound(to: LogFile.self), (raw + realFileOffset).assumingMemoryBound(to: sqlite3_file.self))
    }

    private static let open:
        @convention(c) (
            UnsafeMutablePointer<sqlite3_vfs>?, UnsafePointer<CChar>?, UnsafeMutablePointer<sqlite3_file>?, Int32,
            UnsafeMutablePointer<Int32>?
        ) -> Int32 = { _, name, file, flags, outFlags in
            guard let file else { return SQLITE_MISUSE }
            // Every other file is SQLite's own at the start of the space, as if this VFS were not there.
            guard flags & SQLITE_OPEN_WAL != 0 else { return base.pointee.xOpen!(base, name, file, flags, outFlags) }
            let (log, real) = parts(file)
            let status = base.pointee.xOpen!(base, name, real, flags, outFlags)
            guard status == SQLITE_OK else {
                file.pointee.pMethods = nil
                return status
            }
            guard let buffer = malloc(Int(capacity)) else {
                _ = real.pointee.pMethods.pointee.xClose(real)
                file.pointee.pMethods = nil
                return SQLITE_NOMEM
            }
            log.initialize(
                to: LogFile(
                    file: sqlite3_file(pMethods: UnsafePointer(methods)), buffer: buffer, start: 0, length: 0, commitPageNext: false,
                    writeThroughBelow: 0))
            return SQLITE_OK
        }

    /// Writes out what is buffered; on failure it is dropped, as SQLite then abandons the transaction.
    private static func flush(_ log: UnsafeMutablePointer<LogFile>, _ real: UnsafeMutablePointer<sqlite3_file>) -> Int32 {
        guard log.pointee.length > 0 else { return SQLITE_OK }
        defer { log.pointee.length = 0 }
        return real.pointee.pMethods.pointee.xWrite(real, log.pointee.buffer, log.pointee.length, log.pointee.start)
    }

    private static let write: @convention(c) (UnsafeMutablePointer<sqlite3_file>?, UnsafeRawPointer?, Int32, sqlite3_int64) -> Int32 = {
        file, data, count, offset in
        guard let file, let data else { return SQLITE_MISUSE }
        let (log, real) = parts(file)
        if offset < log.pointee.writeThroughBelow, offset != 0 {
            return real.pointee.pMethods.pointee.xWrite(real, data, count, offset)
        }
        log.pointee.writeThroughBelow = 0
        let contiguous = log.pointee.length > 0 && offset == log.pointee.start + sqlite3_int64(log.pointee.length)
        if !contiguous || log.pointee.length + count > capacity {
            let status = flush(log, real)
            guard status == SQLITE_OK else {
                log.pointee.commitPageNext = false
                return status
            }
        }
        var status = SQLITE_OK
        if count >= capacity {
            status = real.pointee.pMethods.pointee.xWrite(real, data, count, offset)
        } else {
            if log.pointee.length == 0 { log.pointee.start = offset }
            (log.pointee.buffer + Int(log.pointee.length)).copyMemory(from: data, byteCount: Int(count))
            log.pointee.length += count
        }
        if log.pointee.commitPageNext {
            // The commit's last page: everything goes to the file before SQLite can publish the commit.
            log.pointee.commitPageNext = false
            if status == SQLITE_OK { status = flush(log, real) }
            if status == SQLITE_OK { log.pointee.writeThroughBelow = offset + sqlite3_int64(count) }
        } else if count == 24 {
            // A frame header; bytes 4 to 7 hold the database size after a commit, and zero otherwise.
            let bytes = data.assumingMemoryBound(to: UInt8.self)
            log.pointee.commitPageNext = bytes[4] | bytes[5] | bytes[6] | bytes[7] != 0
        }
        return status
    }

    /// Writes out the buffer, then does what SQLite asked.
    private static func flushing(
        _ file: UnsafeMutablePointer<sqlite3_file>?, _ then: (UnsafeMutablePointer<sqlite3_file>) -> Int32
    ) -> Int32 {
        guard let file else { return SQLITE_MISUSE }
        let (log, real) = parts(file)
        let status = flush(log, real)
        guard status == SQLITE_OK else { return status }
        return then(real)
    }

    private static func real(_ file: UnsafeMutablePointer<sqlite3_file>?) -> UnsafeMutablePointer<sqlite3_file> {
        parts(file!).1
    }

    /// The log's methods; set once and never changed.
    private nonisolated(unsafe) static let methods: UnsafeMutablePointer<sqlite3_io_methods> = {
        let methods = UnsafeMutablePointer<sqlite3_io_methods>.allocate(capacity: 1)
        methods.initialize(to: sqlite3_io_methods())
        methods.pointee.iVersion = 1
        methods.pointee.xClose = { file in
            guard let file else { return SQLITE_MISUSE }
            let (log, real) = parts(file)
            let flushed = flush(log, real)
            free(log.pointee.buffer)
            let closed = real.pointee.pMethods.pointee.xClose(real)
            file.pointee.pMethods = nil
            return flushed != SQLITE_OK ? flushed : closed
        }
        methods.pointee.xRead = { file, data, count, offset in
            flushing(file) { $0.pointee.pMethods.pointee.xRead($0, data, count, offset) }
        }
        methods.pointee.xWrite = write
        methods.pointee.xTruncate = { file, size in
            flushing(file) { $0.pointee.pMethods.pointee.xTruncate($0, size) }
        }
        methods.pointee.xSync = { file, flags in
            flushing(file) { $0.pointee.pMethods.pointee.xSync($0, flags) }
        }
        methods.pointee.xFileSize = { file, size in
            flushing(file) { $0.pointee.pMethods.pointee.xFileSize($0, size) }
        }
        methods.pointee.xLock = { file, lock in
            let real = real(file)
            return real.pointee.pMethods.pointee.xLock(real, lock)
        }
        methods.pointee.xUnlock = { file, lock in
            let real = real(file)
            return real.pointee.pMethods.pointee.xUnlock(real, lock)
        }
        methods.pointee.xCheckReservedLock = { file, result in
            let real = real(file)
            return real.pointee.pMethods.pointee.xCheckReservedLock(real, result)
        }
        methods.pointee.xFileControl = { file, operation, argument in
            flushing(file) { $0.pointee.pMethods.pointee.xFileControl($0, operation, argument) }
        }
        methods.pointee.xSectorSize = { file in
            let real = real(file)
            return real.pointee.pMethods.pointee.xSectorSize(real)
        }
        methods.pointee.xDeviceCharacteristics = { file in
            let real = real(file)
            return real.pointee.pMethods.pointee.xDeviceCharacteristics(real)
        }
        return methods
    }()
}
