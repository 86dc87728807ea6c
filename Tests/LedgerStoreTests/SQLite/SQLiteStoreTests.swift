import Foundation
import LedgerProtocol
import LedgerStore
import LedgerTestSupport
import Testing

@Suite struct SQLiteStoreTests {
    @Test func usesWriteAheadLogging() async throws {
        let directory = try TemporaryDirectory("store")
        let store = try await SQLiteStore(path: directory.file("ledger.sqlite"))
        await store.close()
        #expect(try await sqlite(directory.file("ledger.sqlite"), "PRAGMA journal_mode") == "wal")
    }

    @Test func reportsAnUnopenablePath() async throws {
        let directory = try TemporaryDirectory("store")
        try "not a database".write(toFile: directory.file("plain"), atomically: true, encoding: .utf8)
        let error = await #expect(throws: StoreError.self) { try await SQLiteStore(path: directory.file("plain/ledger.sqlite")) }
        #expect(error?.message.contains("plain") == true)
    }

    @Test func badMigrationFileNameIsAnError() throws {
        let directory = try TemporaryDirectory("store")
        try "SELECT 1;".write(toFile: directory.file("create.sql"), atomically: true, encoding: .utf8)
        let error = #expect(throws: StoreError.self) { try MigrationCatalog.load(directory: directory.path) }
        #expect(error?.message.contains("NNNN_description.sql") == true)
    }

    @Test(arguments: ["sqlite:/tmp/x.sqlite", "sqlite:///tmp/x.sqlite", "/tmp/x.sqlite"])
    func parsesStoreLocations(text: String) throws {
        #expect(try StoreLocation(parsing: text) == .sqlite(path: "/tmp/x.sqlite"))
    }

    @Test(arguments: ["", "sqlite:", "mysql://host/db", "memory-please", "host=/tmp bogus_option=1"])
    func refusesUnknownStoreLocations(text: String) {
        #expect(throws: StoreError.self) { try StoreLocation(parsing: text) }
    }
}
