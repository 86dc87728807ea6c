import Foundation
import LedgerStore
import Testing

/// The migrations built into the binary are the checkout's `Migrations/` files, byte for byte.
@Suite struct MigrationCatalogTests {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Sources/LedgerStore/Migrations").standardized

    @Test(arguments: ["sqlite", "postgres"])
    func theBuiltInMigrationsAreTheFilesInTheCheckout(backend: String) throws {
        let embedded = try MigrationCatalog.embedded(backend: backend)
        let files = try MigrationCatalog.load(directory: Self.sources.appendingPathComponent(backend).path)
        #expect(embedded.migrations.count >= 4)
        #expect(embedded.migrations == files.migrations)
        #expect(embedded.migrations.map(\.version) == Array(1...embedded.migrations.count), "numbered from 1 without a gap")
    }

    @Test func aBackendWithoutMigrationsIsAnError() {
        #expect(throws: StoreError.self) { try MigrationCatalog.embedded(backend: "oracle") }
    }
}
